using System.Diagnostics;
using Sovra.Engine.Cache;

namespace Sovra.Engine.Benchmarking;

/// <summary>One llama-bench style measurement: tokens per second over repetitions.</summary>
public sealed record BenchResult(string Test, int Tokens, double[] TokensPerSecond)
{
    public double Mean => TokensPerSecond.Average();
    public double StdDev => TokensPerSecond.Length < 2 ? 0
        : Math.Sqrt(TokensPerSecond.Sum(x => (x - Mean) * (x - Mean)) / (TokensPerSecond.Length - 1));
}

/// <summary>
/// Measures as llama-bench does: pp N decodes N prompt tokens in one batch into an empty cache; tg N decodes N
/// tokens one at a time after an empty cache. Token ids are random (the speed does not depend on them).
/// One warm-up run of each test comes first.
/// </summary>
public static class Benchmark
{
    public static BenchResult PromptProcessing(InferenceContext ctx, int tokens, int repetitions, int seed = 1)
    {
        var ids = RandomTokens(ctx.VocabularySize, tokens, seed);
        var batch = new Batch(ctx.Options.MaxBatchTokens);
        void Run()
        {
            ctx.Kv.Clear();
            for (var i = 0; i < tokens; i += batch.Capacity)
            {
                var n = Math.Min(batch.Capacity, tokens - i);
                batch.Clear();
                batch.AddSequence(ids.AsSpan(i, n), i, 0, logitsForLast: i + n == tokens);
                ctx.Decode(batch);
            }
        }
        return new BenchResult($"pp{tokens}", tokens, Measure(Run, tokens, repetitions));
    }

    public static BenchResult Generation(InferenceContext ctx, int tokens, int repetitions, int seed = 2)
    {
        var ids = RandomTokens(ctx.VocabularySize, tokens, seed);
        var batch = new Batch(1);
        void Run()
        {
            ctx.Kv.Clear();
            for (var i = 0; i < tokens; i++)
            {
                batch.Clear();
                batch.Add(ids[i], i, 0, true);
                ctx.Decode(batch);
            }
        }
        return new BenchResult($"tg{tokens}", tokens, Measure(Run, tokens, repetitions));
    }

    /// <summary>
    /// tg N with <paramref name="sequences"/> sequences decoding side by side, one batched step per position (as a
    /// server's continuous batching decodes them, or llama-batched-bench's text generation): aggregate tokens/s.
    /// Needs a context with at least that many sequences, cells and batch tokens.
    /// </summary>
    public static BenchResult BatchedGeneration(InferenceContext ctx, int sequences, int tokens, int repetitions, int seed = 3)
    {
        if (sequences < 1 || sequences > ctx.Options.MaxSequences || sequences > ctx.Options.MaxBatchTokens)
            throw new ArgumentOutOfRangeException(nameof(sequences), $"the context runs 1..{Math.Min(ctx.Options.MaxSequences, ctx.Options.MaxBatchTokens)} sequences in one batch");
        var ids = RandomTokens(ctx.VocabularySize, tokens * sequences, seed);
        var batch = new Batch(sequences);
        void Run()
        {
            ctx.Kv.Clear();
            for (var i = 0; i < tokens; i++)
            {
                batch.Clear();
                for (var s = 0; s < sequences; s++) batch.Add(ids[i * sequences + s], i, s, true);
                ctx.Decode(batch);
            }
        }
        return new BenchResult($"tg{tokens}x{sequences}", tokens * sequences, Measure(Run, tokens * sequences, repetitions));
    }

    private static double[] Measure(Action run, int tokens, int repetitions)
    {
        run();   // warm-up: page in the weights, JIT the kernels
        var result = new double[repetitions];
        for (var r = 0; r < repetitions; r++)
        {
            var sw = Stopwatch.StartNew();
            run();
            result[r] = tokens / sw.Elapsed.TotalSeconds;
        }
        return result;
    }

    private static int[] RandomTokens(int vocab, int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(vocab)).ToArray();
    }
}
