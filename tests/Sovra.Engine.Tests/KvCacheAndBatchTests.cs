using Sovra.Engine.Cache;

namespace Sovra.Engine.Tests;

/// <summary>
/// The multi-sequence cache and batched decode must give the logits a lone sequence decoded token by token
/// gets: batching, sharing and truncation are bookkeeping, not arithmetic.
/// </summary>
public class KvCacheAndBatchTests
{
    private static readonly int[] Prompt = [3, 17, 42, 5, 9, 33, 21, 8, 60, 1, 14, 27];

    private static LanguageModel Tiny(string arch = "qwen3") => LanguageModel.Load(ArrayModelSource.Tiny(arch));

    private static float[][] OneByOne(LanguageModel m, int[] tokens, KvCacheType kv = KvCacheType.F16)
    {
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 64, MaxBatchTokens = 16, KvType = kv, Threads = 2 });
        var b = new Batch(1);
        var result = new float[tokens.Length][];
        for (var i = 0; i < tokens.Length; i++)
        {
            b.Clear();
            b.Add(tokens[i], i, 0, true);
            ctx.Decode(b);
            result[i] = ctx.GetLogits(0).ToArray();
        }
        return result;
    }

    private static void Close(float[] expected, ReadOnlySpan<float> actual, float tol = 2e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"logit {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("qwen2")]
    [InlineData("llama")]
    public void A_prompt_in_one_batch_gives_the_logits_of_token_by_token_decoding(string arch)
    {
        using var m = Tiny(arch);
        var expected = OneByOne(m, Prompt);
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 64, MaxBatchTokens = 16, Threads = 2 });
        var b = new Batch(16);
        for (var i = 0; i < Prompt.Length; i++) b.Add(Prompt[i], i, 0, true);
        ctx.Decode(b);
        for (var i = 0; i < Prompt.Length; i++) Close(expected[i], ctx.GetLogits(i));
        Assert.Equal(Prompt.Length, ctx.Kv.SequenceLength(0));
    }

    [Fact]
    public void Two_sequences_in_one_batch_each_get_their_own_logits()
    {
        using var m = Tiny();
        int[] other = [7, 7, 50, 2, 11];
        var a = OneByOne(m, Prompt[..6]);
        var o = OneByOne(m, other);
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 64, MaxSequences = 2, MaxBatchTokens = 16, Threads = 2 });
        var b = new Batch(16);
        // Interleaved on purpose: the batch order must not matter.
        for (var i = 0; i < 6; i++)
        {
            b.Add(Prompt[i], i, 0, true);
            if (i < other.Length) b.Add(other[i], i, 1, true);
        }
        ctx.Decode(b);
        var ia = 0; var io = 0;
        for (var k = 0; k < b.Count; k++)
            if (b.Sequences[k] == 0) Close(a[ia++], ctx.GetLogits(k));
            else Close(o[io++], ctx.GetLogits(k));
        // One decode step of both sequences together.
        b.Clear();
        b.Add(4, 6, 0, true);
        b.Add(4, 5, 1, true);
        ctx.Decode(b);
        Close(OneByOne(m, [.. Prompt[..6], 4])[6], ctx.GetLogits(0));
        Close(OneByOne(m, [.. other, 4])[5], ctx.GetLogits(1));
    }

    [Fact]
    public void A_shared_prefix_continues_like_a_recomputed_one_and_truncation_forgets()
    {
        using var m = Tiny();
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 64, MaxSequences = 3, MaxBatchTokens = 16, Threads = 2 });
        var b = new Batch(16);
        b.AddSequence(Prompt[..8], 0, 0, false);
        ctx.Decode(b);
        var used = ctx.Kv.UsedCells;
        ctx.Kv.Share(0, 1, 5);
        Assert.Equal(used, ctx.Kv.UsedCells);   // shared, not copied
        Assert.Equal(5, ctx.Kv.SequenceLength(1));
        b.Clear();
        b.Add(40, 5, 1, true);
        ctx.Decode(b);
        Close(OneByOne(m, [.. Prompt[..5], 40])[5], ctx.GetLogits(0));

        ctx.Kv.Truncate(0, 3);
        Assert.Equal(3, ctx.Kv.SequenceLength(0));
        b.Clear();
        b.Add(12, 3, 0, true);
        ctx.Decode(b);
        Close(OneByOne(m, [.. Prompt[..3], 12])[3], ctx.GetLogits(0));

        ctx.Kv.Remove(1);
        Assert.Equal(0, ctx.Kv.SequenceLength(1));
        Assert.Equal(4, ctx.Kv.UsedCells);
    }

    [Fact]
    public void A_batch_that_does_not_fit_throws_and_changes_nothing()
    {
        using var m = Tiny();
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 10, MaxBatchTokens = 16, Threads = 1 });
        var b = new Batch(16);
        b.AddSequence(Prompt[..8], 0, 0, true);
        ctx.Decode(b);
        var before = ctx.GetLogits(7).ToArray();
        b.Clear();
        b.AddSequence(Prompt[..3], 8, 0, true);
        Assert.Throws<KvCacheFullException>(() => ctx.Decode(b));
        Assert.Equal(8, ctx.Kv.UsedCells);
        Assert.Equal(8, ctx.Kv.SequenceLength(0));
        Close(before, ctx.GetLogits(7), 0);
    }

    [Fact]
    public void A_q8_0_cache_stays_close_to_the_f16_cache_and_uses_less_memory()
    {
        using var m = Tiny();
        var f16 = OneByOne(m, Prompt);
        var q8 = OneByOne(m, Prompt, KvCacheType.Q8_0);
        for (var i = 0; i < Prompt.Length; i++) Close(f16[i], q8[i], 0.05f);
        using var a = m.CreateContext(new ContextOptions { ContextLength = 64, KvType = KvCacheType.F16 });
        using var c = m.CreateContext(new ContextOptions { ContextLength = 64, KvType = KvCacheType.Q8_0 });
        Assert.True(c.KvCacheBytes < a.KvCacheBytes * 0.6);
        using var big = m.CreateContext(new ContextOptions { ContextLength = 128 });
        Assert.Equal(2 * a.KvCacheBytes, big.KvCacheBytes);
    }

    [Fact]
    public void Bad_batches_are_rejected_before_work()
    {
        using var m = Tiny();
        using var ctx = m.CreateContext(new ContextOptions { ContextLength = 16, MaxBatchTokens = 4, Threads = 1 });
        var b = new Batch(8);
        b.Add(64, 0, 0, true);
        Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Decode(b));
        b.Clear();
        b.Add(1, 0, 1, true);   // MaxSequences is 1
        Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Decode(b));
        b.Clear();
        for (var i = 0; i < 5; i++) b.Add(1, i, 0, false);
        Assert.Throws<ArgumentException>(() => ctx.Decode(b));
        Assert.Equal(0, ctx.Kv.UsedCells);
    }
}
