using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>
/// Rotary position embedding as ggml computes it: theta_i = pos · base^(-2i/d) (divided by per-dimension
/// factors when the file has rope_freqs), with linear scaling or YaRN's ramp between interpolated and
/// extrapolated frequencies and its attention scale. The angles are advanced pair by pair by multiplying with
/// base^(-2/d), as ggml's rope cache does, rather than raised to each power: the two differ in the last bits,
/// and a last-bit difference in q or k is enough to move a later Q8 activation across a rounding boundary.
/// </summary>
public sealed class Rope
{
    private readonly RopeSettings _s;
    private readonly int _dims;
    private readonly float _thetaStep;       // base^(-2/d)
    private readonly float[]? _freqFactors;  // [dims/2] rope_freqs divisors, or none
    private readonly float[] _ramp;          // [dims/2] YaRN mix toward the extrapolated angle (0 without YaRN)
    private readonly float _freqScale;
    private readonly float _mscale;

    public Rope(RopeSettings settings, float[]? freqFactors)
    {
        _s = settings;
        _dims = settings.Dimensions;
        var half = _dims / 2;
        _thetaStep = MathF.Pow(settings.FreqBase, -2f / _dims);
        _freqFactors = freqFactors;
        _ramp = new float[half];
        _freqScale = settings.Scaling == RopeScaling.None ? 1f : 1f / settings.ScalingFactor;
        _mscale = 1f;
        if (settings.Scaling == RopeScaling.Yarn)
        {
            var (low, high) = YarnCorrDims(_dims, settings.OriginalContext, settings.FreqBase, settings.YarnBetaFast, settings.YarnBetaSlow);
            for (var i = 0; i < half; i++)
            {
                var y = (i - low) / MathF.Max(0.001f, high - low);
                _ramp[i] = 1f - MathF.Min(1f, MathF.Max(0f, y));
            }
            _mscale = settings.YarnAttnFactor * (1f + 0.1f * MathF.Log(1f / _freqScale));
        }
    }

    private static (float Low, float High) YarnCorrDims(int dims, int nCtxOrig, float freqBase, float betaFast, float betaSlow)
    {
        float corr(float nRot) => dims * MathF.Log(nCtxOrig / (nRot * 2 * MathF.PI)) / (2 * MathF.Log(freqBase));
        var start = MathF.Floor(corr(betaFast));
        var end = MathF.Ceiling(corr(betaSlow));
        return (MathF.Max(0, start), MathF.Min(dims - 1, end));
    }

    public int Dimensions => _dims;

    /// <summary>The angles of a step, once for all layers. positions: [n]; cos, sin: [n, dims/2].</summary>
    public void Prepare(ReadOnlySpan<int> positions, Span<float> cos, Span<float> sin)
    {
        var half = _dims / 2;
        for (var t = 0; t < positions.Length; t++) Angles(positions[t], cos.Slice(t * half, half), sin.Slice(t * half, half));
    }

    /// <summary>Rotates every head of every row in place. x: [n, heads · headDim]; cos, sin: [n, dims/2] from <see cref="Prepare"/>.</summary>
    /// <remarks>Each rotation is one fused multiply-add of the first product with the second product rounded:
    /// what GCC's contraction makes of ggml's <c>x0*cos - x1*sin</c> and <c>x0*sin + x1*cos</c> in the x86 builds
    /// llama.cpp ships (vfmsub/vfmadd in its rope kernels). Measured at the Qwen3-0.6B shape, Q8_0: KL to llama.cpp
    /// 1.6e-2 → 1.9e-6 and greedy-64 identical with this one change on top of ggml-order matmuls and attention
    /// (the other pairing, second product fused, gave 5.6e-2).</remarks>
    public void Apply(Span<float> x, int n, int heads, int headDim, ReadOnlySpan<float> cosAll, ReadOnlySpan<float> sinAll)
    {
        var half = _dims / 2;
        for (var t = 0; t < n; t++)
        {
            var cos = cosAll.Slice(t * half, half);
            var sin = sinAll.Slice(t * half, half);
            var row = x.Slice(t * heads * headDim, heads * headDim);
            for (var h = 0; h < heads; h++)
            {
                var v = row.Slice(h * headDim, headDim);
                if (_s.Style == RopeStyle.NeoX)
                    for (var i = 0; i < half; i++)
                    {
                        float a = v[i], b = v[i + half];
                        v[i] = MathF.FusedMultiplyAdd(a, cos[i], -(b * sin[i]));
                        v[i + half] = MathF.FusedMultiplyAdd(a, sin[i], b * cos[i]);
                    }
                else
                    for (var i = 0; i < half; i++)
                    {
                        float a = v[2 * i], b = v[2 * i + 1];
                        v[2 * i] = MathF.FusedMultiplyAdd(a, cos[i], -(b * sin[i]));
                        v[2 * i + 1] = MathF.FusedMultiplyAdd(a, sin[i], b * cos[i]);
                    }
            }
        }
    }

    private void Angles(int pos, Span<float> cos, Span<float> sin)
    {
        float thetaBase = pos;
        for (var i = 0; i < cos.Length; i++, thetaBase *= _thetaStep)
        {
            var extrap = _freqFactors == null ? thetaBase : thetaBase / _freqFactors[i];
            var theta = _freqScale * extrap;
            if (_s.Scaling == RopeScaling.Yarn) theta = theta * (1 - _ramp[i]) + extrap * _ramp[i];
            cos[i] = MathF.Cos(theta) * _mscale;
            sin[i] = MathF.Sin(theta) * _mscale;
        }
    }
}
