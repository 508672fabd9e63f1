using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>
/// Rotary position embedding as ggml computes it: theta_i = pos · base^(-2i/d) (divided by per-dimension
/// factors when the file has rope_freqs), with linear scaling or YaRN's ramp between interpolated and
/// extrapolated frequencies and its attention scale.
/// </summary>
public sealed class Rope
{
    private readonly RopeSettings _s;
    private readonly int _dims;
    private readonly float[] _thetaScale;    // [dims/2] base^(-2i/d) / freq_factor_i
    private readonly float[] _ramp;          // [dims/2] YaRN mix toward the extrapolated angle (0 without YaRN)
    private readonly float _freqScale;
    private readonly float _mscale;

    public Rope(RopeSettings settings, float[]? freqFactors)
    {
        _s = settings;
        _dims = settings.Dimensions;
        var half = _dims / 2;
        _thetaScale = new float[half];
        _ramp = new float[half];
        for (var i = 0; i < half; i++)
        {
            _thetaScale[i] = MathF.Pow(settings.FreqBase, -2f * i / _dims);
            if (freqFactors != null) _thetaScale[i] /= freqFactors[i];
        }
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

    /// <summary>Rotates every head of every row in place. x: [n, heads · headDim]; positions: [n].</summary>
    public void Apply(Span<float> x, ReadOnlySpan<int> positions, int heads, int headDim)
    {
        var half = _dims / 2;
        Span<float> cos = stackalloc float[half];
        Span<float> sin = stackalloc float[half];
        for (var t = 0; t < positions.Length; t++)
        {
            Angles(positions[t], cos, sin);
            var row = x.Slice(t * heads * headDim, heads * headDim);
            for (var h = 0; h < heads; h++)
            {
                var v = row.Slice(h * headDim, headDim);
                if (_s.Style == RopeStyle.NeoX)
                    for (var i = 0; i < half; i++)
                    {
                        float a = v[i], b = v[i + half];
                        v[i] = a * cos[i] - b * sin[i];
                        v[i + half] = a * sin[i] + b * cos[i];
                    }
                else
                    for (var i = 0; i < half; i++)
                    {
                        float a = v[2 * i], b = v[2 * i + 1];
                        v[2 * i] = a * cos[i] - b * sin[i];
                        v[2 * i + 1] = a * sin[i] + b * cos[i];
                    }
            }
        }
    }

    private void Angles(int pos, Span<float> cos, Span<float> sin)
    {
        for (var i = 0; i < cos.Length; i++)
        {
            var extrap = pos * _thetaScale[i];
            var theta = _freqScale * extrap;
            if (_s.Scaling == RopeScaling.Yarn) theta = theta * (1 - _ramp[i]) + extrap * _ramp[i];
            cos[i] = MathF.Cos(theta) * _mscale;
            sin[i] = MathF.Sin(theta) * _mscale;
        }
    }
}
