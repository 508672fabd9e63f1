using Sovra.Kernels;

namespace Sovra.Engine.Blocks;

/// <summary>
/// y = x / sqrt(mean(x²) + eps) · w, row by row, as ggml's rms_norm then mul: squares in float summed in double,
/// the scale in float, x·scale then ·w.
/// </summary>
public sealed class RmsNorm(float[] weight, float eps)
{
    public int Size => weight.Length;

    /// <summary>x, y: [n, Size] (may be the same buffer).</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int n)
    {
        var d = weight.Length;
        for (var t = 0; t < n; t++) ApplyRow(x.Slice(t * d, d), y.Slice(t * d, d));
    }

    public void ApplyRow(ReadOnlySpan<float> x, Span<float> y) => FloatOps.RmsNorm(x, weight, eps, y);
}
