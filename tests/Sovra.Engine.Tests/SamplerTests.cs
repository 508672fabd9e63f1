using Sovra.Engine.Sampling;

namespace Sovra.Engine.Tests;

public class SamplerTests
{
    private static float[] Logits(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 6 - 3)).ToArray();
    }

    private static int ArgMax(float[] x) => Array.IndexOf(x, x.Max());

    [Fact]
    public void Temperature_zero_is_the_argmax()
    {
        var l = Logits(1000, 1);
        var s = new Sampler(SamplerSettings.Greedy);
        Assert.Equal(ArgMax(l), s.Sample(l));
    }

    [Fact]
    public void Top_k_one_is_the_argmax_at_any_temperature()
    {
        var l = Logits(1000, 2);
        var s = new Sampler(new SamplerSettings { Temperature = 5, TopK = 1, Seed = 9 });
        for (var i = 0; i < 20; i++) Assert.Equal(ArgMax(l), s.Sample(l));
    }

    [Fact]
    public void Same_seed_and_settings_give_the_same_draws_and_another_seed_differs()
    {
        var l = Logits(500, 3);
        var settings = new SamplerSettings { Temperature = 1.5f, TopK = 0, TopP = 1, MinP = 0, Seed = 42 };
        int[] Draw(SamplerSettings st) { var s = new Sampler(st); return Enumerable.Range(0, 50).Select(_ => s.Sample(l)).ToArray(); }
        Assert.Equal(Draw(settings), Draw(settings));
        Assert.NotEqual(Draw(settings), Draw(settings with { Seed = 43 }));
    }

    [Fact]
    public void Draws_follow_the_softmax_at_temperature_one()
    {
        float[] l = [2f, 1f, 0f, -1f, 0.5f];
        var max = l.Max();
        var p = l.Select(x => Math.Exp(x - max)).ToArray();
        var z = p.Sum();
        var s = new Sampler(new SamplerSettings { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 7 });
        var counts = new int[l.Length];
        const int N = 40000;
        for (var i = 0; i < N; i++) counts[s.Sample(l)]++;
        for (var i = 0; i < l.Length; i++)
        {
            var expected = p[i] / z;
            var sd = Math.Sqrt(expected * (1 - expected) / N);
            Assert.InRange(counts[i] / (double)N, expected - 5 * sd, expected + 5 * sd);
        }
    }

    [Fact]
    public void Top_p_keeps_only_the_smallest_set_reaching_p()
    {
        // softmax of [3, 2, 1, 0, -5]: 0.644, 0.237, 0.087, 0.032, ... -> p = 0.85 keeps the first two.
        float[] l = [1f, 3f, 0f, 2f, -5f];
        var s = new Sampler(new SamplerSettings { Temperature = 1, TopK = 0, TopP = 0.85f, MinP = 0, Seed = 1 });
        var seen = new HashSet<int>();
        for (var i = 0; i < 2000; i++) seen.Add(s.Sample(l));
        Assert.Equal(new HashSet<int> { 1, 3 }, seen);
    }

    [Fact]
    public void Min_p_drops_tokens_below_the_fraction_of_the_top_probability()
    {
        // p relative to top: e^0, e^-1 = 0.37, e^-2 = 0.135, e^-3 = 0.05 ; min-p 0.2 keeps two.
        float[] l = [0f, -1f, -2f, -3f];
        var s = new Sampler(new SamplerSettings { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.2f, Seed = 1 });
        var seen = new HashSet<int>();
        for (var i = 0; i < 2000; i++) seen.Add(s.Sample(l));
        Assert.Equal(new HashSet<int> { 0, 1 }, seen);
    }

    [Fact]
    public void Top_k_limits_draws_to_the_k_best()
    {
        var l = Logits(300, 4);
        var best = l.Select((v, i) => (v, i)).OrderByDescending(x => x.v).Take(5).Select(x => x.i).ToHashSet();
        var s = new Sampler(new SamplerSettings { Temperature = 3, TopK = 5, TopP = 1, MinP = 0, Seed = 5 });
        for (var i = 0; i < 500; i++) Assert.Contains(s.Sample(l), best);
    }

    [Fact]
    public void Repeat_presence_and_frequency_penalties_push_seen_tokens_down()
    {
        float[] l = [2.0f, 1.9f, 0f];
        var plain = new Sampler(SamplerSettings.Greedy);
        Assert.Equal(0, plain.Sample(l));
        foreach (var st in new[]
        {
            SamplerSettings.Greedy with { RepeatPenalty = 1.2f },
            SamplerSettings.Greedy with { PresencePenalty = 0.5f },
            SamplerSettings.Greedy with { FrequencyPenalty = 0.06f },
        })
        {
            var s = new Sampler(st);
            s.Accept(0);
            if (st.FrequencyPenalty > 0) s.Accept(0);   // 2 × 0.06 > 0.1
            Assert.Equal(1, s.Sample(l));
        }
        // Outside the window the penalty no longer applies.
        var w = new Sampler(SamplerSettings.Greedy with { RepeatPenalty = 1.2f, RepeatLastN = 1 });
        w.Accept(0); w.Accept(2);
        Assert.Equal(0, w.Sample(l));
    }

    [Fact]
    public void Logprobs_are_the_log_softmax_and_top_logprobs_are_sorted()
    {
        var l = Logits(100, 6);
        var max = l.Max();
        var lse = max + Math.Log(l.Sum(x => Math.Exp(x - max)));
        for (var i = 0; i < l.Length; i += 17) Assert.Equal(l[i] - lse, Sampler.Logprob(l, i), 4);
        var top = Sampler.TopLogprobs(l, 5);
        Assert.Equal(l.Select((v, i) => (v, i)).OrderByDescending(x => x.v).Take(5).Select(x => x.i), top.Select(t => t.Token));
        Assert.Equal(1.0, l.Sum(x => Math.Exp(x - lse)), 4);
    }

    [Fact]
    public void Next_reports_log_probabilities_of_the_penalised_distribution_that_normalise()
    {
        var l = Logits(200, 8);
        var st = new SamplerSettings { Temperature = 0.7f, Seed = 3, PresencePenalty = 0.8f, Logprobs = true, TopLogprobs = 200 };
        var s = new Sampler(st);
        s.Accept(ArgMax(l));
        var penalised = (float[])l.Clone();
        penalised[ArgMax(l)] -= 0.8f;
        var max = penalised.Max();
        var lse = max + Math.Log(penalised.Sum(x => Math.Exp(x - max)));

        var t = s.Next(l);
        Assert.NotNull(t.Logprob);
        Assert.Equal(penalised[t.Token] - lse, t.Logprob!.Value, 4);
        Assert.Equal(200, t.TopLogprobs.Length);
        Assert.Equal(1.0, t.TopLogprobs.Sum(a => Math.Exp(a.Logprob)), 4);
        for (var i = 1; i < t.TopLogprobs.Length; i++) Assert.True(t.TopLogprobs[i - 1].Logprob >= t.TopLogprobs[i].Logprob);
        Assert.Equal(ArgMax(penalised), t.TopLogprobs[0].Token);
        Assert.Contains(t.TopLogprobs, a => a.Token == t.Token && Math.Abs(a.Logprob - t.Logprob.Value) < 1e-6);
        Assert.Equal(t.Token, s.History[^1]);   // Next adds the token to the penalty history

        var quiet = new Sampler(st with { Logprobs = false, TopLogprobs = 0 }).Next(l);
        Assert.Null(quiet.Logprob);
        Assert.Empty(quiet.TopLogprobs);
    }

    [Fact]
    public void The_chain_runs_top_k_then_top_p_then_min_p_then_temperature()
    {
        HashSet<int> Seen(SamplerSettings st, float[] l)
        {
            var s = new Sampler(st);
            var seen = new HashSet<int>();
            for (var i = 0; i < 3000; i++) seen.Add(s.Sample(l));
            return seen;
        }
        var off = new SamplerSettings { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 11 };
        // softmax [3, 2, 1, 0] = 0.644, 0.237, 0.087, 0.032. Top-p 0.7 alone keeps two; after top-k 2 the
        // renormalised first token has 0.731 >= 0.7 and is kept alone.
        float[] a = [3f, 2f, 1f, 0f];
        Assert.Equal(new HashSet<int> { 0, 1 }, Seen(off with { TopP = 0.7f }, a));
        Assert.Equal(new HashSet<int> { 0 }, Seen(off with { TopK = 2, TopP = 0.7f }, a));
        // Min-p 0.2 on the raw logits keeps tokens 0 and 1 (e^-1 = 0.37, e^-2 = 0.14); applied after a temperature of
        // 10 it would keep all four (e^-0.3 = 0.74). Likewise top-p 0.85 keeps two tokens of [1, 3, 0, 2, -5] at any temperature.
        float[] b = [0f, -1f, -2f, -3f];
        Assert.Equal(new HashSet<int> { 0, 1 }, Seen(off with { Temperature = 10, MinP = 0.2f }, b));
        float[] c = [1f, 3f, 0f, 2f, -5f];
        Assert.Equal(new HashSet<int> { 1, 3 }, Seen(off with { Temperature = 10, TopP = 0.85f }, c));
    }

    [Fact]
    public void Next_is_deterministic_for_a_seed_and_penalises_what_it_generated()
    {
        var l = Logits(64, 9);
        var st = new SamplerSettings { Temperature = 1.2f, TopK = 0, TopP = 1, MinP = 0, Seed = 77, Logprobs = true, TopLogprobs = 3 };
        (int, float?)[] Run(SamplerSettings x) { var s = new Sampler(x); return Enumerable.Range(0, 40).Select(_ => s.Next(l)).Select(t => (t.Token, t.Logprob)).ToArray(); }
        Assert.Equal(Run(st), Run(st));
        Assert.NotEqual(Run(st), Run(st with { Seed = 78 }));

        // Greedy with a presence penalty over the whole history (-1): each pick is pushed down, so 3 picks are distinct.
        var g = new Sampler(SamplerSettings.Greedy with { PresencePenalty = 100, RepeatLastN = -1 });
        var picks = Enumerable.Range(0, 3).Select(_ => g.Next(l).Token).ToArray();
        Assert.Equal(3, picks.Distinct().Count());
        Assert.Equal(ArgMax(l), picks[0]);
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { TopP = 0 }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { MinP = 2 }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { RepeatPenalty = 0 }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { Temperature = float.NaN }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { RepeatLastN = -2 }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplerSettings { TopLogprobs = -1 }));
    }
}
