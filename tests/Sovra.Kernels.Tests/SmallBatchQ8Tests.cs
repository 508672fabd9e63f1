using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;

namespace Sovra.Kernels.Tests;

/// <summary>The small-batch Q8_0 kernel (decode steps of several sequences) against the scalar reference.</summary>
public sealed class SmallBatchQ8Tests : IDisposable
{
    private readonly KernelThreadPool _pool = new(3);

    public void Dispose() => _pool.Dispose();

    public static TheoryData<KernelPath> Paths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path)) data.Add(path);
        return data;
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        var scale = expected.Max(v => Math.Abs(v)) + 1e-6f;
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * scale + 1e-6f,
                $"{what}: element {i}: scalar {expected[i]}, got {actual[i]} (max |y| {scale})");
    }

    private void Compare(KernelPath path, WeightView w, float[] x, int n, string what)
    {
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var simd = new MatMul(_pool, path);
        var expected = new float[n * w.Rows];
        var actual = new float[n * w.Rows];
        reference.MatMat(w, x, n, expected);
        simd.MatMat(w, x, n, actual);
        AssertClose(expected, actual, what);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Matches_scalar_on_odd_rows_blocks_and_token_counts(KernelPath path)
    {
        Assert.True(SmallBatchQ8.Supports(path, GgmlType.Q8_0, 2));
        foreach (var rows in new[] { 29, 36, 67 })
        foreach (var blocks in new[] { 1, 5, 6 })
        foreach (var n in new[] { 2, 3, 4, 5, 7, 9, 13, SmallBatchQ8.MaxTokens })
        {
            var cols = 32 * blocks;
            var rowBytes = (int)QuantFormat.Of(GgmlType.Q8_0).RowBytes(cols);
            var bytes = new byte[rowBytes * rows];
            var values = TestData.Gaussian(rows * cols, 7 * rows + blocks, 0.05f);
            for (var r = 0; r < rows; r++)
                QuantFormats.Quantize(GgmlType.Q8_0, values.AsSpan(r * cols, cols), bytes.AsSpan(r * rowBytes, rowBytes));
            Compare(path, WeightView.FromBytes(bytes, GgmlType.Q8_0, rows, cols), TestData.Gaussian(n * cols, rows + n), n,
                $"{path} rows={rows} blocks={blocks} n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Extreme_weights_and_activations_stay_exact(KernelPath path)
    {
        // -128 and 127 weights against activations quantized to ±127: the largest int16 pair sums the kernel forms.
        const int rows = 9, blocks = 4, cols = 32 * blocks, n = 6;
        var rowBytes = (int)QuantFormat.Of(GgmlType.Q8_0).RowBytes(cols);
        var bytes = new byte[rowBytes * rows];
        for (var r = 0; r < rows; r++)
            for (var b = 0; b < blocks; b++)
            {
                var block = r * rowBytes + b * 34;
                bytes[block] = 0x00; bytes[block + 1] = 0x3C; // F16 1.0
                for (var i = 0; i < 32; i++) bytes[block + 2 + i] = (byte)(((i + r + b) & 1) == 0 ? 0x80 : 0x7F);
            }
        var x = new float[n * cols];
        for (var i = 0; i < x.Length; i++) x[i] = (i * 7 % 3) switch { 0 => 1f, 1 => -1f, _ => 0.5f };
        Compare(path, WeightView.FromBytes(bytes, GgmlType.Q8_0, rows, cols), x, n, $"{path} extremes");
    }
}
