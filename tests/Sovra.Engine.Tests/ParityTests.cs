using Sovra.Engine.Cache;
using Sovra.Engine.Generation;
using Sovra.Engine.Sampling;
using Sovra.Gguf;
using Sovra.TestSupport;
using Xunit.Abstractions;

namespace Sovra.Engine.Tests;

/// <summary>
/// The engine against llama.cpp on the same GGUF file. Metric, at each of the 64 prompt positions:
/// KL(llama.cpp ‖ Sovra) of the next-token distributions, bounded per type (the bound grows with the
/// quantisation error, since llama.cpp also quantises activations to Q8 where we keep floats); and the same
/// top-1 token wherever llama.cpp's top-1 leads its runner-up by more than a margin (a near tie may flip on
/// rounding alone). Greedy generation of 64 tokens must give identical ids for F32, F16 and Q8_0.
/// </summary>
public class ParityTests(ITestOutputHelper output)
{
    private const int PromptLength = 64;
    private const int GreedyLength = 64;

    private static int[] Prompt(int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, PromptLength).Select(_ => r.Next(0, 256)).ToArray();
    }

    // Bounds, from what llama.cpp and Sovra measure on these files (docs/engine.md): F32/F16, and Q8_0, Q4_0 and the
    // K-quants (whose products follow ggml's summation order exactly), agree to ~2e-6 nats at every position. BF16,
    // whose activations are rounded before the dot product in an order Sovra does not follow, agrees to ~1e-6 at
    // most positions but up to ~1e-3 at a few: where one activation
    // rounds differently from ggml's SIMD path, this random network amplifies it, and the token's K/V carries
    // it to every later position.
    public static TheoryData<string, string, double, double, double> Cases => new()
    {
        // arch, type, max KL at any position, max mean KL, top-1 margin (nats) below which a flip is a near tie
        { "qwen3", "F32", 1e-4, 1e-5, 0.02 },
        { "qwen3", "F16", 1e-4, 1e-5, 0.02 },
        { "qwen3", "BF16", 2e-2, 5e-3, 0.5 },
        { "qwen3", "Q8_0", 1e-4, 1e-5, 0.02 },   // ggml's own order throughout (docs/engine.md): at the KL floor
        { "qwen3", "Q4_0", 1e-4, 1e-5, 0.02 },
        { "qwen3", "Q4_K_M", 1e-4, 1e-5, 0.02 }, // the K-quants too (llama.cpp's repacked Q4_K GEMM/GEMV, vec_dot)
        { "qwen3", "Q5_K_M", 1e-4, 1e-5, 0.02 },
        { "qwen3", "Q6_K", 1e-4, 1e-5, 0.02 },
        { "qwen2", "F32", 1e-4, 1e-5, 0.02 },
        { "llama", "F32", 1e-4, 1e-5, 0.02 },
        { "qwen2", "Q8_0", 1e-4, 1e-5, 0.02 },
        { "llama", "Q4_K_M", 1e-4, 1e-5, 0.02 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Next_token_distributions_match_llama_cpp(string arch, string type, double maxKl, double maxMeanKl, double margin)
    {
        var dir = RepoPaths.Scratch($"parity-{arch}-{type}");
        var path = Path.Combine(dir, $"{arch}-{type}.gguf");
        ParityModels.Write(path, arch, type);
        var prompt = Prompt(11);
        var reference = LlamaReference.Run(path, prompt, ParityModels.Vocab, greedy: 0);

        using var model = LanguageModel.Load(path);
        using var ctx = model.CreateContext(new ContextOptions { ContextLength = 256, MaxBatchTokens = PromptLength, Threads = 2 });
        var batch = new Batch(PromptLength);
        for (var i = 0; i < PromptLength; i++) batch.Add(prompt[i], i, 0, true);
        ctx.Decode(batch);

        double worstKl = 0, meanKl = 0, meanTop = 0;
        var kls = new double[PromptLength];
        var flips = 0;
        for (var i = 0; i < PromptLength; i++)
        {
            var logits = ctx.GetLogits(i);
            var lse = Sampler.LogSumExp(logits);
            var p = reference.Probabilities[i];
            double kl = 0;
            for (var t = 0; t < p.Length; t++)
                if (p[t] > 0) kl += p[t] * (Math.Log(p[t]) - (logits[t] - lse));
            worstKl = Math.Max(worstKl, kl);
            kls[i] = kl;
            meanKl += kl / PromptLength;
            var refOrder = Enumerable.Range(0, p.Length).OrderByDescending(t => p[t]).ToArray();
            meanTop += p[refOrder[0]] / PromptLength;
            var ours = Sampler.TopLogprobs(logits, 1)[0].Token;
            var gap = Math.Log(p[refOrder[0]]) - Math.Log(Math.Max(p[refOrder[1]], 1e-30f));
            if (ours != refOrder[0])
            {
                flips++;
                Assert.True(gap < margin, $"position {i}: top-1 {ours}, llama.cpp {refOrder[0]} with a gap of {gap:F3} nats");
            }
        }
        output.WriteLine($"{arch} {type}: KL max {worstKl:E2} mean {meanKl:E2}; top-1 flips {flips} (near ties); mean top-1 p {meanTop:F2}");
        output.WriteLine("KL by position: " + string.Join(",", kls.Select(k => k.ToString("E1"))));
        Assert.True(worstKl <= maxKl, $"KL divergence {worstKl:E2} exceeds {maxKl:E2}");
        Assert.True(meanKl <= maxMeanKl, $"mean KL divergence {meanKl:E2} exceeds {maxMeanKl:E2}");
        Assert.InRange(meanTop, 0.15, 0.95);   // the distributions are neither flat nor one-hot
    }

    // Prompt seeds whose greedy continuation has no near tie in llama.cpp's own distributions (found by scanning
    // seeds once; the precondition below re-checks it on every run).
    public static TheoryData<string, string, int, double> GreedyCases => new()
    {
        { "qwen3", "F32", GreedySeedQwen3, MinGreedyGap },
        { "qwen3", "F16", GreedySeedQwen3, MinGreedyGap },
        { "qwen3", "Q8_0", GreedySeedQwen3Q8, MinGreedyGapQ8 },
        { "qwen3", "Q4_K_M", 8, MinGreedyGap },
        { "qwen3", "Q5_K_M", 9, MinGreedyGap },
        { "qwen3", "Q6_K", 6, MinGreedyGap },
    };

    // Seeds 1..8 scanned: the smallest llama.cpp top-1 lead along the path was, for seed 2, 0.059 (F32) and
    // 0.052 (Q8_0) nats; most seeds have a lead under 0.03 somewhere in 64 steps.
    private const int GreedySeedQwen3 = 2;
    /// <summary>Smallest lead (nats) of llama.cpp's top-1 over its runner-up along the greedy path for the test to mean anything.</summary>
    private const double MinGreedyGap = 0.04;

    // Q8_0 has a higher noise floor: an activation that lands within an ulp of a Q8 rounding boundary can round the
    // other way than in llama.cpp (summation orders differ), moving later logits by up to ~0.1 nats. Seeds 1..12 scanned
    // (docs/engine.md): identical on 7 of 12; seed 6 has the largest smallest lead, 0.124 nats.
    private const int GreedySeedQwen3Q8 = 6;
    private const double MinGreedyGapQ8 = 0.1;

    // The K-quants (seeds 1..12 scanned once, 2026-12-03): Sovra's greedy ids were llama.cpp's on all 36 paths, near
    // ties included (one Q4_K_M path had a lead of 0.000 nats); the seeds kept have the largest smallest lead:
    // Q4_K_M seed 8 (0.062), Q5_K_M seed 9 (0.075), Q6_K seed 6 (0.098).

    [Theory]
    [MemberData(nameof(GreedyCases))]
    public void Greedy_generation_gives_llama_cpps_ids(string arch, string type, int promptSeed, double minGap)
    {
        var dir = RepoPaths.Scratch($"greedy-{arch}-{type}");
        var path = Path.Combine(dir, $"{arch}-{type}.gguf");
        ParityModels.Write(path, arch, type);
        var prompt = Prompt(promptSeed);
        var reference = LlamaReference.Run(path, prompt, ParityModels.Vocab, GreedyLength);
        var tie = Array.IndexOf(reference.GreedyGaps, reference.GreedyGaps.Min());
        Assert.True(reference.GreedyGaps[tie] >= minGap,
            $"precondition: llama.cpp's greedy path has a near tie ({reference.GreedyGaps[tie]:F3} nats at step {tie}); choose another prompt seed");

        using var model = LanguageModel.Load(path);
        using var ctx = model.CreateContext(new ContextOptions { ContextLength = 256, MaxBatchTokens = PromptLength, Threads = 2 });
        var ids = new Generator(model, ctx).Generate(prompt, new Sampler(SamplerSettings.Greedy),
            new GenerationLimits { MaxTokens = GreedyLength, StopAtEndOfGeneration = false }).Select(g => g.Token).ToArray();
        output.WriteLine($"{arch} {type} greedy: {string.Join(",", ids)}");
        Assert.Equal(reference.Greedy, ids);
    }
}
