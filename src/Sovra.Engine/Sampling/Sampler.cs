using System.Numerics.Tensors;

namespace Sovra.Engine.Sampling;

/// <summary>
/// Chooses the next token of one sequence from its logits, in llama.cpp's default chain order (common_params_sampling:
/// penalties → top-k → top-p → min-p → temperature → draw; its DRY, top-n-sigma, typical-p and XTC stages are off by
/// default and not implemented). Holds the seeded RNG and the penalty history, so one sampler serves one sequence;
/// buffers are sized on the first call and reused (no allocation per token beyond the reported top alternatives).
/// </summary>
public sealed class Sampler
{
    private readonly SamplerSettings _settings;
    private readonly Xoshiro256 _rng;
    private readonly List<int> _history = [];
    private readonly Dictionary<int, int> _counts = [];
    private float[] _work = [];   // [n_vocab] penalised logits
    private int[] _ids = [];      // [n_vocab] candidate ids, best first after selection
    private float[] _vals = [];   // [n_vocab] candidate logits, aligned with _ids
    private int[] _topIds = [];   // [top_logprobs] reported alternatives, best first
    private float[] _topVals = [];

    public Sampler(SamplerSettings settings)
    {
        settings.Validate();
        _settings = settings;
        _rng = new Xoshiro256(settings.Seed);
    }

    public SamplerSettings Settings => _settings;

    /// <summary>Tokens seen so far (prompt tokens given to <see cref="Accept"/> and sampled ones).</summary>
    public IReadOnlyList<int> History => _history;

    /// <summary>Adds a token to the penalty history; call for each generated token (and prompt tokens, if they should count).</summary>
    public void Accept(int token) => _history.Add(token);

    public void Reset() => _history.Clear();

    /// <summary>Picks the next token. <paramref name="logits"/>: [n_vocab], left unchanged.</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        Penalise(logits);
        return Choose(_work);
    }

    /// <summary>
    /// Picks the next token, adds it to the penalty history, and reports what <see cref="SamplerSettings.Logprobs"/>
    /// and <see cref="SamplerSettings.TopLogprobs"/> ask for: log-probabilities under the distribution the penalties
    /// leave, before top-k/top-p/min-p and temperature reshape it (the model's own view of the choice, which is what
    /// OpenAI's <c>logprobs</c> report). <paramref name="logits"/>: [n_vocab], left unchanged.
    /// </summary>
    public SampledToken Next(ReadOnlySpan<float> logits)
    {
        var work = Penalise(logits);
        float? logprob = null;
        TokenLogprob[] top = [];
        float lse = 0;
        if (_settings.Logprobs || _settings.TopLogprobs > 0) lse = LogSumExp(work);
        if (_settings.TopLogprobs > 0)
        {
            var k = Math.Min(_settings.TopLogprobs, work.Length);
            if (_topIds.Length < work.Length) { _topIds = new int[work.Length]; _topVals = new float[work.Length]; }
            SelectTop(work, k, _topIds, _topVals);
            top = new TokenLogprob[k];
            for (var i = 0; i < k; i++) top[i] = new TokenLogprob(_topIds[i], _topVals[i] - lse);
        }
        var token = Choose(work);
        if (_settings.Logprobs) logprob = work[token] - lse;
        Accept(token);
        return new SampledToken(token, logprob, top);
    }

    /// <summary>Copies the logits into the work buffer and applies the penalties there.</summary>
    private Span<float> Penalise(ReadOnlySpan<float> logits)
    {
        var n = logits.Length;
        if (n == 0) throw new ArgumentException("no logits to sample from");
        if (_work.Length != n) { _work = new float[n]; _ids = new int[n]; _vals = new float[n]; }
        var work = _work.AsSpan();
        logits.CopyTo(work);
        ApplyPenalties(work);
        return work;
    }

    /// <summary>The chain after the penalties, on the penalised logits in the work buffer (which stay unchanged).</summary>
    private int Choose(ReadOnlySpan<float> work)
    {
        var n = work.Length;
        if (_settings.Temperature <= 0) return TensorPrimitives.IndexOfMax(work);

        var k = _settings.TopK > 0 ? Math.Min(_settings.TopK, n) : n;
        SelectTop(work, k, _ids, _vals);
        var ids = _ids.AsSpan(0, k);
        var vals = _vals.AsSpan(0, k);

        // top-p and min-p see the distribution before temperature, as in llama.cpp's default chain.
        var kept = k;
        if (_settings.TopP < 1 || _settings.MinP > 0)
        {
            var max = vals[0];
            double sum = 0;
            for (var i = 0; i < k; i++) sum += Math.Exp(vals[i] - max);
            if (_settings.TopP < 1)
            {
                double cum = 0;
                for (var i = 0; i < k; i++)
                {
                    cum += Math.Exp(vals[i] - max) / sum;
                    if (cum >= _settings.TopP) { kept = i + 1; break; }
                }
            }
            if (_settings.MinP > 0)
            {
                // p_i >= minP * p_max  <=>  l_i >= max + ln(minP)
                var floor = max + MathF.Log(_settings.MinP);
                var m = 1;
                while (m < kept && vals[m] >= floor) m++;
                kept = m;
            }
        }

        var t = _settings.Temperature;
        var top = vals[0];
        double total = 0;
        for (var i = 0; i < kept; i++) total += Math.Exp((vals[i] - top) / t);
        var r = _rng.NextDouble() * total;
        double acc = 0;
        for (var i = 0; i < kept; i++)
        {
            acc += Math.Exp((vals[i] - top) / t);
            if (r < acc) return ids[i];
        }
        return ids[kept - 1];
    }

    private void ApplyPenalties(Span<float> work)
    {
        var s = _settings;
        if (_history.Count == 0 || s.RepeatLastN == 0 || (s.RepeatPenalty == 1 && s.PresencePenalty == 0 && s.FrequencyPenalty == 0)) return;
        _counts.Clear();
        var from = s.RepeatLastN < 0 ? 0 : Math.Max(0, _history.Count - s.RepeatLastN);
        for (var i = from; i < _history.Count; i++)
        {
            var tok = _history[i];
            if ((uint)tok < (uint)work.Length) _counts[tok] = _counts.GetValueOrDefault(tok) + 1;
        }
        foreach (var (tok, count) in _counts)
        {
            ref var l = ref work[tok];
            l = l > 0 ? l / s.RepeatPenalty : l * s.RepeatPenalty;
            l -= count * s.FrequencyPenalty + s.PresencePenalty;
        }
    }

    /// <summary>Puts the k largest logits, best first, into ids/vals [≥ n_vocab] (ties: lower id first).</summary>
    private static void SelectTop(ReadOnlySpan<float> work, int k, int[] ids, float[] vals)
    {
        var n = work.Length;
        if (k == n)
        {
            for (var i = 0; i < n; i++) { ids[i] = i; vals[i] = work[i]; }
            SortDescending(vals.AsSpan(0, n), ids.AsSpan(0, n));
            return;
        }
        // Min-heap of size k on (value, -id): O(n log k).
        var hv = vals.AsSpan(0, k);
        var hi = ids.AsSpan(0, k);
        for (var i = 0; i < k; i++) { hv[i] = work[i]; hi[i] = i; SiftUp(hv, hi, i); }
        for (var i = k; i < n; i++)
        {
            if (!Better(work[i], i, hv[0], hi[0])) continue;
            hv[0] = work[i]; hi[0] = i;
            SiftDown(hv, hi, 0, k);
        }
        SortDescending(hv, hi);
    }

    private static bool Better(float v, int id, float w, int jd) => v > w || (v == w && id < jd);

    private static void SiftUp(Span<float> v, Span<int> id, int i)
    {
        while (i > 0)
        {
            var p = (i - 1) / 2;
            if (!Better(v[p], id[p], v[i], id[i])) break;
            (v[p], v[i]) = (v[i], v[p]); (id[p], id[i]) = (id[i], id[p]);
            i = p;
        }
    }

    private static void SiftDown(Span<float> v, Span<int> id, int i, int n)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < n && Better(v[m], id[m], v[l], id[l])) m = l;
            if (r < n && Better(v[m], id[m], v[r], id[r])) m = r;
            if (m == i) return;
            (v[m], v[i]) = (v[i], v[m]); (id[m], id[i]) = (id[i], id[m]);
            i = m;
        }
    }

    private static void SortDescending(Span<float> vals, Span<int> ids)
    {
        // Sort ascending on negated keys keeps it one primitive sort; equal values then order by id.
        for (var i = 0; i < vals.Length; i++) vals[i] = -vals[i];
        vals.Sort(ids);
        for (var i = 0; i < vals.Length; i++) vals[i] = -vals[i];
        var start = 0;
        for (var i = 1; i <= vals.Length; i++)
        {
            if (i < vals.Length && vals[i] == vals[start]) continue;
            if (i - start > 1) ids[start..i].Sort();
            start = i;
        }
    }

    /// <summary>log p(token) under softmax(logits).</summary>
    public static float Logprob(ReadOnlySpan<float> logits, int token)
    {
        if ((uint)token >= (uint)logits.Length) throw new ArgumentOutOfRangeException(nameof(token));
        return logits[token] - LogSumExp(logits);
    }

    /// <summary>The <paramref name="n"/> most likely tokens under softmax(logits), best first.</summary>
    public static TokenLogprob[] TopLogprobs(ReadOnlySpan<float> logits, int n)
    {
        n = Math.Clamp(n, 0, logits.Length);
        if (n == 0) return [];
        var lse = LogSumExp(logits);
        var ids = new int[logits.Length];
        var vals = new float[logits.Length];
        SelectTop(logits, n, ids, vals);
        var result = new TokenLogprob[n];
        for (var i = 0; i < n; i++) result[i] = new TokenLogprob(ids[i], vals[i] - lse);
        return result;
    }

    public static float LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return max + (float)Math.Log(sum);
    }
}
