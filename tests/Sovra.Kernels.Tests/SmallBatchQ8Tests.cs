using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;

namespace Sovra.Kernels.Tests;

/// <summary>The small-batch Q8_0 kernel (decode steps of several sequences, token lanes) against the scalar reference.</summary>
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

    private static WeightView RandomQ8(int rows, int cols, int seed) =>
        WeightView.FromBytes(TestData.QuantizedRows(GgmlType.Q8_0, rows, cols, seed), GgmlType.Q8_0, rows, cols);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Shared_products_equal_separate_ones_and_the_scalar_reference(KernelPath path)
    {
        // Q, K, V (or gate, up) over one input in one run: each output as its own MatMat gives it, bit for bit.
        foreach (var blocks in new[] { 1, 6 })
        foreach (var n in new[] { 2, 5, 9, 13, SmallBatchQ8.MaxTokens })
        {
            var cols = 32 * blocks;
            WeightView a = RandomQ8(29, cols, 1 + blocks), b = RandomQ8(67, cols, 2 + blocks), c = RandomQ8(36, cols, 3 + blocks);
            var x = TestData.Gaussian(n * cols, 11 * n + blocks);
            using var simd = new MatMul(_pool, path);
            using var reference = new MatMul(_pool, KernelPath.Scalar);
            foreach (var third in new[] { true, false })
            {
                float[] ya = new float[n * a.Rows], yb = new float[n * b.Rows], yc = new float[n * c.Rows];
                simd.MatMatShared(a, b, c, third, x, n, ya, yb, yc);
                foreach (var (w, y, name) in new[] { (a, ya, "a"), (b, yb, "b"), (c, yc, "c") })
                {
                    if (name == "c" && !third) { Assert.All(y, v => Assert.Equal(0f, v)); continue; }
                    var alone = new float[n * w.Rows];
                    simd.MatMat(w, x, n, alone);
                    Assert.Equal(alone, y);
                    var expected = new float[n * w.Rows];
                    reference.MatMat(w, x, n, expected);
                    AssertClose(expected, y, $"{path} shared {name} blocks={blocks} n={n} third={third}");
                }
            }
        }
    }

    [Fact]
    public void Shared_products_of_other_types_or_sizes_fall_back_to_separate_ones()
    {
        const int cols = 64;
        var q4Bytes = new byte[(int)QuantFormat.Of(GgmlType.Q4_0).RowBytes(cols) * 7];
        QuantFormats.Quantize(GgmlType.Q4_0, TestData.Gaussian(7 * cols, 5), q4Bytes);
        var q4 = WeightView.FromBytes(q4Bytes, GgmlType.Q4_0, 7, cols);
        var q8 = RandomQ8(9, cols, 4);
        using var mm = new MatMul(_pool);
        foreach (var n in new[] { 1, 3, SmallBatchQ8.MaxTokens + 1 })
        {
            var x = TestData.Gaussian(n * cols, n);
            float[] ya = new float[n * 9], yb = new float[n * 7], ea = new float[n * 9], eb = new float[n * 7];
            mm.MatMatShared(q8, q4, default, false, x, n, ya, yb, default);
            mm.MatMat(q8, x, n, ea);
            mm.MatMat(q4, x, n, eb);
            Assert.Equal(ea, ya);
            Assert.Equal(eb, yb);
        }
    }

    public static TheoryData<KernelPath, GgmlType> PathsAndTypes()
    {
        var data = new TheoryData<KernelPath, GgmlType>();
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path))
                foreach (var type in new[] { GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
                    data.Add(path, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void Other_integer_formats_match_scalar_on_odd_sizes(KernelPath path, GgmlType type)
    {
        // Q4_0/Q5_0 (32-groups, offsets folded into the int16 values) and the K-quants (256-groups with the
        // sub-block scales folded in; Q4_K/Q5_K also subtract dmin·d_x·Σ m_j·Σx_j in the kernel).
        var f = QuantFormat.Of(type);
        Assert.True(SmallBatchQ8.Supports(path, type, 2));
        foreach (var rows in new[] { 29, 36 })
        foreach (var blocks in f.BlockSize == 256 ? new[] { 1, 3 } : new[] { 1, 5 })
        foreach (var n in new[] { 2, 3, 5, 8, 13, SmallBatchQ8.MaxTokens })
        {
            var cols = f.BlockSize * blocks;
            var bytes = TestData.QuantizedRows(type, rows, cols, 5 * rows + blocks + (int)type);
            Compare(path, WeightView.FromBytes(bytes, type, rows, cols), TestData.Gaussian(n * cols, rows + n + (int)type), n,
                $"{path} {type} rows={rows} blocks={blocks} n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void Other_integer_formats_stay_exact_at_their_extremes(KernelPath path, GgmlType type)
    {
        // Every quant, scale and min at its maximum in some rows, random bytes in the others, against activations
        // that quantize to ±127 and −128.
        const int rows = 9, n = 7;
        var (bytes, x, cols) = TestData.Extremes(type, rows, n, 91 + (int)type);
        Compare(path, WeightView.FromBytes(bytes, type, rows, cols), x, n, $"{path} {type} extremes");
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
