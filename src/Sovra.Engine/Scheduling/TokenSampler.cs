namespace Sovra.Engine.Scheduling;

/// <summary>
/// Picks one sequence's next token from its logits: presence/frequency penalties over the tokens it has
/// generated, then temperature, top-k, top-p and min-p, with a seeded generator so a seed gives the same
/// tokens every time. Log-probabilities are those of the penalised distribution before temperature,
/// which is what the OpenAI API reports.
/// </summary>
public sealed class TokenSampler
{
    // Tokens whose probability is below this fraction of the most likely one are left out of the sorted
    // candidate list for top-p / top-k; their total mass is at most vocab * 1e-9, far below any top_p step.
    private const float CandidateFloor = 1e-9f;

    private readonly SamplingSettings _settings;
    private readonly Dictionary<int, int> _counts = new();
    private ulong _state;
    private int[] _candidates = [];
    private float[] _candidateProbs = [];

    public TokenSampler(SamplingSettings settings)
    {
        _settings = settings;
        _state = (ulong)(settings.Seed ?? Random.Shared.NextInt64()) ^ 0x9E3779B97F4A7C15UL;
    }

    /// <summary>Records a token as generated (so penalties see it) without sampling it.</summary>
    public void Accept(int token) => _counts[token] = _counts.TryGetValue(token, out var c) ? c + 1 : 1;

    /// <summary>Samples from <paramref name="logits"/> (length VocabSize; overwritten) and records the choice.</summary>
    public GeneratedToken Sample(Span<float> logits)
    {
        var s = _settings;
        if (s.PresencePenalty != 0 || s.FrequencyPenalty != 0)
            foreach (var (token, count) in _counts)
                if ((uint)token < (uint)logits.Length)
                    logits[token] -= s.PresencePenalty + s.FrequencyPenalty * count;

        var max = float.NegativeInfinity;
        var argmax = 0;
        for (var i = 0; i < logits.Length; i++)
            if (logits[i] > max) { max = logits[i]; argmax = i; }

        var needLogprobs = s.Logprobs || s.TopLogprobs > 0;
        var logSum = needLogprobs ? LogSumExp(logits, max) : 0f;

        var chosen = s.Temperature <= 0 ? argmax : SampleTempered(logits, max);

        IReadOnlyList<TokenLogprob> top = s.TopLogprobs > 0 ? TopLogprobs(logits, Math.Min(s.TopLogprobs, logits.Length), logSum) : [];
        var logprob = needLogprobs ? logits[chosen] - logSum : 0f;
        Accept(chosen);
        return new GeneratedToken(chosen, logprob, top);
    }

    private int SampleTempered(Span<float> logits, float max)
    {
        var s = _settings;
        var invT = 1f / s.Temperature;
        var filter = s.TopP < 1f || s.TopK > 0 || s.MinP > 0f;
        if (!filter)
        {
            // Plain temperature: inverse CDF over the whole vocabulary, no sorting needed.
            double total = 0;
            for (var i = 0; i < logits.Length; i++) total += MathF.Exp((logits[i] - max) * invT);
            var u = NextDouble() * total;
            double acc = 0;
            for (var i = 0; i < logits.Length; i++)
            {
                acc += MathF.Exp((logits[i] - max) * invT);
                if (acc >= u) return i;
            }
            return logits.Length - 1;
        }

        if (_candidates.Length < logits.Length) { _candidates = new int[logits.Length]; _candidateProbs = new float[logits.Length]; }
        var n = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var p = MathF.Exp((logits[i] - max) * invT); // relative to the most likely token (which has 1)
            if (p < CandidateFloor) continue;
            _candidates[n] = i;
            _candidateProbs[n] = -p; // negated: Array.Sort is ascending
            n++;
        }
        Array.Sort(_candidateProbs, _candidates, 0, n);
        var keep = n;
        if (s.TopK > 0) keep = Math.Min(keep, s.TopK);
        if (s.MinP > 0f)
        {
            var k = 0;
            while (k < keep && -_candidateProbs[k] >= s.MinP) k++;
            keep = Math.Max(1, k);
        }
        double sum = 0;
        for (var i = 0; i < keep; i++) sum += -_candidateProbs[i];
        if (s.TopP < 1f)
        {
            double acc = 0;
            var k = 0;
            while (k < keep)
            {
                acc += -_candidateProbs[k] / sum;
                k++;
                if (acc >= s.TopP) break;
            }
            keep = k;
            sum = 0;
            for (var i = 0; i < keep; i++) sum += -_candidateProbs[i];
        }
        var target = NextDouble() * sum;
        double run = 0;
        for (var i = 0; i < keep; i++)
        {
            run += -_candidateProbs[i];
            if (run >= target) return _candidates[i];
        }
        return _candidates[keep - 1];
    }

    private static float LogSumExp(ReadOnlySpan<float> logits, float max)
    {
        double sum = 0;
        for (var i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        return max + (float)Math.Log(sum);
    }

    private static TokenLogprob[] TopLogprobs(ReadOnlySpan<float> logits, int count, float logSum)
    {
        // Insertion into a small sorted array: count is at most 20.
        var ids = new int[count];
        var vals = new float[count];
        Array.Fill(vals, float.NegativeInfinity);
        for (var i = 0; i < logits.Length; i++)
        {
            var v = logits[i];
            if (v <= vals[count - 1]) continue;
            var j = count - 1;
            while (j > 0 && vals[j - 1] < v) { vals[j] = vals[j - 1]; ids[j] = ids[j - 1]; j--; }
            vals[j] = v; ids[j] = i;
        }
        var result = new TokenLogprob[count];
        for (var i = 0; i < count; i++) result[i] = new TokenLogprob(ids[i], vals[i] - logSum);
        return result;
    }

    // SplitMix64: tiny, fast and the same on every platform and runtime version.
    private double NextDouble()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
