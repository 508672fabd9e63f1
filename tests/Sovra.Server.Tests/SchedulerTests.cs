using System.Text;
using Sovra.Engine.Sampling;
using Sovra.Engine.Scheduling;
using Sovra.Server.Tests.Fakes;

namespace Sovra.Server.Tests;

/// <summary>The continuous-batching scheduler over a model that checks its KV bookkeeping.</summary>
public sealed class SchedulerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static GenerationRequest Req(int[] prompt, int max = 100, SamplerSettings? s = null) =>
        new(prompt, s ?? SamplerSettings.Greedy, max) { StopTokens = new HashSet<int> { ScriptedModel.EndOfText } };

    private static int[] Prompt(string text) => [.. ScriptedModel.Bytes(text), ScriptedModel.AnswerStart];

    private static async Task<List<int>> Drain(GenerationHandle h)
    {
        var tokens = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var t in h.Tokens.ReadAllAsync(cts.Token)) tokens.Add(t.Token);
        return tokens;
    }

    private static string Text(List<int> tokens) => Encoding.UTF8.GetString(tokens.Select(t => (byte)t).ToArray());

    [Fact]
    public async Task A_single_sequence_follows_the_model_and_stops_at_end_of_text()
    {
        var model = new ScriptedModel("Hello, wörld!");
        using var s = new BatchScheduler(model);
        var h = s.Submit(Req(Prompt("hi")));
        Assert.Equal("Hello, wörld!", Text(await Drain(h)));
        var result = await h.Completion.WaitAsync(Timeout);
        Assert.Equal(FinishReason.Stop, result.Reason);
        Assert.Equal(Encoding.UTF8.GetByteCount("Hello, wörld!"), result.GeneratedTokens);
    }

    [Fact]
    public async Task Max_tokens_ends_with_length()
    {
        using var s = new BatchScheduler(new ScriptedModel("abcdefghij"));
        var h = s.Submit(Req(Prompt("x"), max: 4));
        Assert.Equal("abcd", Text(await Drain(h)));
        Assert.Equal(FinishReason.Length, (await h.Completion.WaitAsync(Timeout)).Reason);
    }

    [Fact]
    public async Task A_request_arriving_while_another_runs_joins_the_next_step_and_both_decode_in_one_forward()
    {
        var model = new ScriptedModel(new string('a', 400), contextLength: 1024) { StepDelayMs = 2 };
        using var s = new BatchScheduler(model);
        var a = s.Submit(Req(Prompt("first"), max: 400));
        // Wait until A is generating, then submit B.
        var aTokens = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        while (aTokens.Count < 5 && await a.Tokens.WaitToReadAsync(cts.Token))
            while (a.Tokens.TryRead(out var t)) aTokens.Add(t.Token);
        var b = s.Submit(Req(Prompt("second"), max: 20));
        var bTokens = await Drain(b);
        Assert.False(a.Completion.IsCompleted, "A finished before B: the test proves nothing");
        a.Stop();
        await Drain(a);
        Assert.Equal(20, bTokens.Count);

        BatchToken[][] steps;
        lock (model.Steps) steps = model.Steps.ToArray();
        var seqA = steps[0][0].Sequence;
        // B's prompt went in together with A's decode token (it did not wait for A to finish) ...
        var bPrompt = Array.FindIndex(steps, st => st.Any(t => t.Sequence != seqA));
        Assert.True(bPrompt > 0);
        Assert.Contains(steps[bPrompt], t => t.Sequence == seqA && t.WantLogits);
        // ... and afterwards single forward steps carry one decode token of each.
        Assert.Contains(steps, st => st.Count(t => t.WantLogits) == 2 && st.Select(t => t.Sequence).Distinct().Count() == 2);
    }

    [Fact]
    public async Task A_long_prompt_is_read_in_chunks_while_other_sequences_keep_decoding()
    {
        var model = new ScriptedModel(new string('z', 800), contextLength: 1024) { StepDelayMs = 2 };
        using var s = new BatchScheduler(model, new SchedulerOptions { PrefillChunk = 16, MaxBatchTokens = 64 });
        var a = s.Submit(Req(Prompt("a"), max: 800));
        await a.Tokens.WaitToReadAsync().AsTask().WaitAsync(Timeout);
        var longPrompt = Prompt(new string('p', 300));
        var b = s.Submit(Req(longPrompt, max: 2));
        await Drain(b);
        Assert.False(a.Completion.IsCompleted, "A finished before B: the test proves nothing");
        a.Stop();
        await Drain(a);
        BatchToken[][] steps;
        lock (model.Steps) steps = model.Steps.ToArray();
        var seqA = steps[0][0].Sequence;
        var prefillSteps = steps.Where(st => st.Any(t => t.Sequence != seqA && !t.WantLogits)).ToList();
        Assert.True(prefillSteps.Count >= 300 / 16, $"only {prefillSteps.Count} prefill steps");
        Assert.All(prefillSteps, st => Assert.True(st.Count(t => t.Sequence != seqA) <= 16));
        // A decoded in every step while B's prompt was read (A had tokens left to generate throughout).
        Assert.All(prefillSteps, st => Assert.Contains(st, t => t.Sequence == seqA));
    }

    [Fact]
    public async Task A_prompt_that_starts_with_a_cached_sequence_reuses_its_KV_and_gives_the_same_tokens()
    {
        var system = "You are a careful assistant who answers briefly. ";
        var first = Prompt(system + "Question one?");
        var second = Prompt(system + "Question two, longer?");

        var fresh = new ScriptedModel("The answer.");
        List<int> expected;
        using (var s0 = new BatchScheduler(fresh, new SchedulerOptions { PrefixCache = false }))
            expected = await Drain(s0.Submit(Req(second)));

        var model = new ScriptedModel("The answer.");
        using var s = new BatchScheduler(model);
        var h1 = s.Submit(Req(first));
        await Drain(h1);
        var computedBefore = model.TokensComputed;
        var h2 = s.Submit(Req(second));
        var got = await Drain(h2);
        var r2 = await h2.Completion.WaitAsync(Timeout);

        Assert.Equal(expected, got);
        var common = Encoding.UTF8.GetByteCount(system + "Question ");
        Assert.Equal(common, r2.CachedPromptTokens);
        Assert.Equal(second.Length - common + got.Count, model.TokensComputed - computedBefore);
    }

    [Fact]
    public async Task When_the_KV_pool_is_full_a_new_request_waits_and_then_runs()
    {
        // Each request reserves prompt + max tokens = 3 + 60 cells; the pool holds 100: one at a time.
        var model = new ScriptedModel(new string('k', 60), contextLength: 100, maxSequences: 4, kvCapacity: 100) { StepDelayMs = 1 };
        using var s = new BatchScheduler(model);
        var a = s.Submit(Req(Prompt("ab"), max: 60));
        var b = s.Submit(Req(Prompt("cd"), max: 60));
        await a.Tokens.WaitToReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(1, s.Stats.Waiting);
        var bTokens = await Drain(b);
        await Drain(a);
        Assert.Equal(60, bTokens.Count);
        Assert.Equal(FinishReason.Length, (await b.Completion.WaitAsync(Timeout)).Reason);
        BatchToken[][] steps;
        lock (model.Steps) steps = model.Steps.ToArray();
        Assert.DoesNotContain(steps, st => st.Select(t => t.Sequence).Distinct().Count() > 1);
    }

    [Fact]
    public async Task A_cancelled_sequence_stops_within_one_step_and_frees_its_slot()
    {
        var model = new ScriptedModel(new string('c', 400), contextLength: 1024) { StepDelayMs = 10 };
        using var s = new BatchScheduler(model);
        using var cts = new CancellationTokenSource();
        var h = s.Submit(Req(Prompt("go"), max: 400), cts.Token);
        var seen = 0;
        await foreach (var _ in h.Tokens.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
            if (++seen == 3) break;
        await cts.CancelAsync();
        int stepsAtCancel; // counted once the cancel is signalled: only the step in flight may still finish
        lock (model.Steps) stepsAtCancel = model.Steps.Count;
        var result = await h.Completion.WaitAsync(Timeout);
        Assert.Equal(FinishReason.Cancelled, result.Reason);
        int stepsAfter;
        lock (model.Steps) stepsAfter = model.Steps.Count;
        Assert.True(stepsAfter - stepsAtCancel <= 1, $"{stepsAfter - stepsAtCancel} steps ran after the cancel");
        Assert.Equal(0, s.Stats.Active);
        Assert.Equal(0, s.Stats.CachedSequences); // a cancelled sequence's KV is dropped, not cached
        Assert.Equal(0, model.Held(model.Steps[0][0].Sequence));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_tokens_and_another_seed_others()
    {
        var model = new ScriptedModel("0123456789", contextLength: 256);
        using var s = new BatchScheduler(model);
        var hot = SamplerSettings.Greedy with { Temperature = 6.0f, Seed = 42 };
        var a = await Drain(s.Submit(Req(Prompt("seed"), 40, hot)));
        var b = await Drain(s.Submit(Req(Prompt("seed"), 40, hot)));
        var c = await Drain(s.Submit(Req(Prompt("seed"), 40, hot with { Seed = 43 })));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public async Task Logprobs_are_log_softmax_of_the_logits_and_top_logprobs_are_sorted()
    {
        var model = new ScriptedModel("xy");
        using var s = new BatchScheduler(model);
        var h = s.Submit(Req(Prompt("q"), 1, SamplerSettings.Greedy with { Logprobs = true, TopLogprobs = 3 }));
        GeneratedToken? first = null;
        await foreach (var t in h.Tokens.ReadAllAsync()) first ??= t;
        Assert.NotNull(first);
        Assert.Equal('x', first.Token);
        Assert.Equal(3, first.TopLogprobs.Count);
        Assert.Equal(first.Token, first.TopLogprobs[0].Token);
        Assert.Equal(first.Logprob, first.TopLogprobs[0].Logprob, 5);
        Assert.True(first.TopLogprobs[0].Logprob >= first.TopLogprobs[1].Logprob && first.TopLogprobs[1].Logprob >= first.TopLogprobs[2].Logprob);
        // The peak logit is 20 and the rest lie in [0, 2): its probability is between these bounds.
        Assert.InRange(first.Logprob, MathF.Log(MathF.Exp(20) / (MathF.Exp(20) + 257 * MathF.Exp(2))), 0);
    }

    [Fact]
    public void A_prompt_as_long_as_the_context_is_refused_with_the_numbers()
    {
        using var s = new BatchScheduler(new ScriptedModel("a", contextLength: 16));
        var e = Assert.Throws<RequestTooLargeException>(() => s.Submit(Req(new int[16])));
        Assert.Equal(16, e.PromptTokens);
        Assert.Equal(16, e.Limit);
        Assert.Contains("16 tokens", e.Message);
    }
}
