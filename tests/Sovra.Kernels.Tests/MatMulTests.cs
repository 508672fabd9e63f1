using System.IO.MemoryMappedFiles;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;

namespace Sovra.Kernels.Tests;

/// <summary>Every SIMD path against the scalar reference, on odd numbers of rows, blocks and tokens.</summary>
public sealed class MatMulTests : IDisposable
{
    private readonly KernelThreadPool _pool = new(3);

    public void Dispose() => _pool.Dispose();

    private static readonly GgmlType[] Types =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
        GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>Each path this CPU (and the runtime switches) allow, above scalar, crossed with each format.</summary>
    public static TheoryData<KernelPath, GgmlType> PathsAndTypes()
    {
        var data = new TheoryData<KernelPath, GgmlType>();
        foreach (var path in new[] { KernelPath.Vector128, KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path))
                foreach (var t in Types) data.Add(path, t);
        return data;
    }

    private static (WeightView W, float[] X) Problem(GgmlType type, int rows, int blocksPerRow, int n, int seed)
    {
        var f = QuantFormat.Of(type);
        var cols = blocksPerRow * Math.Max(f.BlockSize, 32) ;
        if (f.BlockSize == 1) cols += 5; // float rows need not be a multiple of any vector width
        var w = new byte[f.RowBytes(cols) * rows];
        var values = TestData.Gaussian(rows * cols, seed, 0.05f);
        for (var r = 0; r < rows; r++)
            QuantFormats.Quantize(type, values.AsSpan(r * cols, cols), w.AsSpan(checked((int)(r * f.RowBytes(cols))), checked((int)f.RowBytes(cols))));
        return (WeightView.FromBytes(w, type, rows, cols), TestData.Gaussian(n * cols, seed + 1));
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        var scale = expected.Max(v => Math.Abs(v)) + 1e-6f;
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * scale + 1e-6f,
                $"{what}: element {i}: scalar {expected[i]}, got {actual[i]} (max |y| {scale})");
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void MatVec_matches_scalar_reference(KernelPath path, GgmlType type)
    {
        var blocks = QuantFormat.Of(type).BlockSize == 256 ? 3 : 7;
        var (w, x) = Problem(type, rows: 37, blocksPerRow: blocks, n: 1, seed: 100 + (int)type);
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var simd = new MatMul(_pool, path);
        var expected = new float[w.Rows];
        var actual = new float[w.Rows];
        reference.MatVec(w, x, expected);
        simd.MatVec(w, x, actual);
        AssertClose(expected, actual, $"{path} {type} matvec");
    }

    /// <summary>
    /// Q8_0 products are ggml's bit for bit, for one token (decode) and for a prompt batch (the tile): a Q8_0
    /// model re-quantizes its activations at every layer, so a last-bit difference here changes greedy tokens.
    /// (Batches of 2..SmallBatchQ8.MaxTokens take the small-batch kernel, which keeps its own order.)
    /// </summary>
    [Theory]
    [MemberData(nameof(TilePaths))]
    public void Q8_0_products_equal_ggml_mul_mat_bit_for_bit(KernelPath path)
    {
        const int rows = 67, cols = 32 * 37;
        var bytes = TestData.QuantizedRows(GgmlType.Q8_0, rows, cols, 41);
        var w = WeightView.FromBytes(bytes, GgmlType.Q8_0, rows, cols);
        using var mm = new MatMul(_pool, path);
        foreach (var n in new[] { 1, SmallBatchQ8.MaxTokens + 1, 64 })
        {
            var x = TestData.Gaussian(n * cols, 42 + n);
            var expected = GgmlReference.MulMat(GgmlType.Q8_0, bytes, rows, cols, x, n);
            var actual = new float[rows * n];
            mm.MatMat(w, x, n, actual);
            for (var i = 0; i < actual.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"{path} n={n}: element {i}: ggml {expected[i]:R}, ours {actual[i]:R}");
        }
    }

    /// <summary>
    /// The K-quant products are llama.cpp's bit for bit on every path that follows its order (scalar reference,
    /// AVX2, AVX-512): Q5_K and Q6_K as ggml's vec_dot for every batch size; Q4_K (repacked by llama.cpp on x86
    /// when the rows are a multiple of 8) as its GEMM for each full group of four tokens and its GEMV for the
    /// rest. One token (decode), a prompt batch (the tile) and batches whose last tokens are not a full group of
    /// four; 2..SmallBatchQ8.MaxTokens take the small-batch kernel, which keeps its own order.
    /// </summary>
    [Theory]
    [MemberData(nameof(KQuantOrderPaths))]
    public void K_quant_products_equal_ggml_mul_mat_bit_for_bit(KernelPath path, GgmlType type)
    {
        const int rows = 72, cols = 256 * 5;
        var bytes = TestData.QuantizedRows(type, rows, cols, 43 + (int)type);
        var w = WeightView.FromBytes(bytes, type, rows, cols);
        using var mm = new MatMul(_pool, path);
        var ns = path == KernelPath.Scalar ? new[] { 1, 3, 4, 9, 64 } : new[] { 1, SmallBatchQ8.MaxTokens + 1, SmallBatchQ8.MaxTokens + 3, 64 };
        foreach (var n in ns)
        {
            var x = TestData.Gaussian(n * cols, 44 + n);
            var expected = GgmlReference.MulMat(type, bytes, rows, cols, x, n, repack: type == GgmlType.Q4_K);
            var actual = new float[rows * n];
            mm.MatMat(w, x, n, actual);
            var same = 0;
            for (var i = 0; i < actual.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])) same++;
            Assert.True(same == actual.Length, $"{path} {type} n={n}: {same}/{actual.Length} elements identical");
        }
    }

    /// <summary>
    /// The K-quant SIMD kernels compute the scalar reference's order exactly (it is ggml's, see above), so they
    /// agree bit for bit: on odd rows and super-blocks, for one token, for tile batches whose last tokens are not
    /// a full group of four, and at the extremes (every quant, scale and min at its maximum beside random bytes,
    /// activations that quantize to ±127 and −128).
    /// </summary>
    [Theory]
    [MemberData(nameof(KQuantSimdPaths))]
    public void K_quant_simd_kernels_equal_the_scalar_reference_bit_for_bit(KernelPath path, GgmlType type)
    {
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var simd = new MatMul(_pool, path);
        foreach (var (rows, blocks) in new[] { (29, 3), (37, 5), (8, 1) })
            foreach (var n in new[] { 1, SmallBatchQ8.MaxTokens + 1, 37, 64 })
            {
                var (w, x) = Problem(type, rows, blocks, n, seed: 500 + (int)type + n + rows);
                AssertSame(reference, simd, w, x, n, $"{path} {type} {rows}x{blocks} n={n}");
            }
        foreach (var n in new[] { 1, 22, 61 })
        {
            var (wb, x, cols) = TestData.Extremes(type, 13, n, 600 + n);
            AssertSame(reference, simd, WeightView.FromBytes(wb, type, 13, cols), x, n, $"{path} {type} extremes n={n}");
        }
    }

    private static void AssertSame(MatMul reference, MatMul simd, in WeightView w, float[] x, int n, string what)
    {
        var expected = new float[n * w.Rows];
        var actual = new float[n * w.Rows];
        reference.MatMat(w, x, n, expected);
        simd.MatMat(w, x, n, actual);
        for (var i = 0; i < actual.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i}: scalar {expected[i]:R}, got {actual[i]:R}");
    }

    public static TheoryData<KernelPath, GgmlType> KQuantSimdPaths()
    {
        var data = new TheoryData<KernelPath, GgmlType>();
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path))
                foreach (var t in new[] { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K }) data.Add(path, t);
        return data;
    }

    public static TheoryData<KernelPath, GgmlType> KQuantOrderPaths()
    {
        var data = new TheoryData<KernelPath, GgmlType>();
        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path))
                foreach (var t in new[] { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K }) data.Add(path, t);
        return data;
    }

    public static TheoryData<KernelPath> TilePaths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path)) data.Add(path);
        return data;
    }

    public static TheoryData<KernelPath> SimdPaths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (var path in new[] { KernelPath.Vector128, KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path)) data.Add(path);
        return data;
    }

    /// <summary>F16 rows may take a finite-only fast decode; a row with an infinity or NaN must still give what
    /// the scalar reference gives, wherever in the row (main loop or tail) the value sits.</summary>
    [Theory]
    [MemberData(nameof(SimdPaths))]
    public void F16_rows_with_infinities_or_NaNs_match_the_scalar_reference(KernelPath path)
    {
        const int cols = 101;
        ushort[] specials = [0x7c00, 0xfc00, 0x7e00, 0xfc01];
        var rows = specials.Length * 3 + 1;
        var w = new byte[rows * cols * 2];
        var values = TestData.Gaussian(rows * cols, 5, 0.05f);
        for (var i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(w.AsSpan(2 * i), (Half)values[i]);
        for (var s = 0; s < specials.Length; s++)
            foreach (var (k, col) in new[] { (0, 3), (1, 70), (2, 99) }) // first 32-group, a later one, the tail
                BitConverter.TryWriteBytes(w.AsSpan(2 * ((s * 3 + k) * cols + col)), specials[s]);
        var view = WeightView.FromBytes(w, GgmlType.F16, rows, cols);
        var x = TestData.Gaussian(cols, 6);
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var simd = new MatMul(_pool, path);
        var expected = new float[rows];
        var actual = new float[rows];
        reference.MatVec(view, x, expected);
        simd.MatVec(view, x, actual);
        for (var r = 0; r < rows; r++)
        {
            if (float.IsFinite(expected[r])) { Assert.True(Math.Abs(expected[r] - actual[r]) <= 1e-4f * Math.Abs(expected[r]) + 1e-6f, $"row {r}"); continue; }
            Assert.True(float.IsNaN(expected[r]) ? float.IsNaN(actual[r]) : actual[r] == expected[r], $"{path} row {r}: scalar {expected[r]}, got {actual[r]}");
        }
        Assert.Contains(expected, float.IsInfinity);
        Assert.Contains(expected, float.IsNaN);
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void MatMat_matches_scalar_reference_below_and_above_the_tiling_threshold(KernelPath path, GgmlType type)
    {
        var blocks = QuantFormat.Of(type).BlockSize == 256 ? 3 : 5;
        foreach (var n in new[] { 3, 37 })
        {
            var (w, x) = Problem(type, rows: 29, blocksPerRow: blocks, n: n, seed: 200 + (int)type + n);
            using var reference = new MatMul(_pool, KernelPath.Scalar);
            using var simd = new MatMul(_pool, path);
            var expected = new float[n * w.Rows];
            var actual = new float[n * w.Rows];
            reference.MatMat(w, x, n, expected);
            simd.MatMat(w, x, n, actual);
            AssertClose(expected, actual, $"{path} {type} matmat n={n}");
        }
    }

    /// <summary>The tiled paths (AVX2, AVX-512) crossed with the formats the byte tile takes.</summary>
    public static TheoryData<KernelPath, GgmlType> TilePathsAndByteTypes()
    {
        var data = new TheoryData<KernelPath, GgmlType>();
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 })
            if (KernelDispatch.IsAvailable(path))
                foreach (var t in ByteTypes) data.Add(path, t);
        return data;
    }

    private static readonly GgmlType[] ByteTypes =
        [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    [Theory]
    [MemberData(nameof(TilePathsAndByteTypes))]
    public void Int16_and_byte_tiles_match_the_scalar_reference_on_odd_shapes(KernelPath path, GgmlType type)
    {
        var big = QuantFormat.Of(type).BlockSize == 256;
        foreach (var (rows, blocks, n) in new[] { (29, big ? 3 : 5, 37), (5, big ? 1 : 1, 8), (33, big ? 2 : 9, 61) })
        {
            var (w, x) = Problem(type, rows, blocks, n, seed: 300 + (int)type + n);
            using var reference = new MatMul(_pool, KernelPath.Scalar);
            using var int16 = new MatMul(_pool, path, byteTiles: false);
            using var bytes = new MatMul(_pool, path, byteTiles: true);
            var expected = new float[n * w.Rows];
            var a = new float[n * w.Rows];
            var b = new float[n * w.Rows];
            reference.MatMat(w, x, n, expected);
            int16.MatMat(w, x, n, a);
            bytes.MatMat(w, x, n, b);
            AssertClose(expected, a, $"{path} {type} int16 tile {rows}x{blocks} n={n}");
            AssertClose(expected, b, $"{path} {type} byte tile {rows}x{blocks} n={n}");
            Assert.Equal(a, b); // both sum exactly in int32 and scale in the same order
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F16)]
    public void Tiles_give_the_same_rows_wherever_the_output_starts_against_a_cache_line(GgmlType type)
    {
        // The row blocks follow Y's 64-byte boundaries, so every start offset cuts them differently.
        var (w, x) = Problem(type, rows: 77, blocksPerRow: 3, n: 11, seed: 21);
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var tiles = new MatMul(_pool);
        var expected = new float[11 * 77];
        reference.MatMat(w, x, 11, expected);
        var buffer = new float[11 * 77 + 16];
        for (var offset = 0; offset < 16; offset++)
        {
            Array.Clear(buffer);
            tiles.MatMat(w, x, 11, buffer.AsSpan(offset, 11 * 77));
            AssertClose(expected, buffer.AsSpan(offset, 11 * 77).ToArray(), $"{type} offset {offset}");
        }
    }

    /// <summary>
    /// Every quant at its largest value against activations that quantize to −128 / +127 is where int16
    /// sums of the byte tile would overflow first; random raw bytes cover the rest of the value range.
    /// </summary>
    [Theory]
    [MemberData(nameof(TilePathsAndByteTypes))]
    public void Byte_tile_stays_exact_at_extreme_quants_and_activations(KernelPath path, GgmlType type)
    {
        const int rows = 9, n = 19;
        var (bytes, x, cols) = TestData.Extremes(type, rows, n, 77 + (int)type);
        var w = WeightView.FromBytes(bytes, type, rows, cols);
        using var reference = new MatMul(_pool, KernelPath.Scalar);
        using var tiles = new MatMul(_pool, path, byteTiles: true);
        var expected = new float[n * rows];
        var actual = new float[n * rows];
        reference.MatMat(w, x, n, expected);
        tiles.MatMat(w, x, n, actual);
        AssertClose(expected, actual, $"{path} {type} extremes");
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Scalar_matmul_rows_are_the_scalar_dot_of_each_row(GgmlType type)
    {
        var (w, x) = Problem(type, rows: 5, blocksPerRow: 1, n: 2, seed: 9);
        using var mm = new MatMul(_pool, KernelPath.Scalar);
        var y = new float[2 * 5];
        mm.MatMat(w, x, 2, y);
        for (var t = 0; t < 2; t++)
            for (var r = 0; r < 5; r++)
                Assert.Equal(KernelProbe.DotScalar(type, w.Row(r).ToArray(), x.AsSpan(t * w.Cols, w.Cols).ToArray()), y[t * 5 + r]);
    }

    [Fact]
    public void Thread_count_does_not_change_results()
    {
        var (w, x) = Problem(GgmlType.Q4_0, rows: 301, blocksPerRow: 9, n: 19, seed: 4);
        using var one = new KernelThreadPool(1);
        using var a = new MatMul(one);
        using var b = new MatMul(_pool);
        var ya = new float[19 * 301];
        var yb = new float[19 * 301];
        a.MatMat(w, x, 19, ya);
        for (var i = 0; i < 50; i++) b.MatMat(w, x, 19, yb);
        Assert.Equal(ya, yb);
    }

    [Fact]
    public void View_over_a_memory_mapped_file_reads_in_place_and_checks_extents()
    {
        var (w, x) = Problem(GgmlType.Q8_0, rows: 7, blocksPerRow: 2, n: 1, seed: 5);
        var bytes = new byte[100 + w.ByteLength];
        for (var r = 0; r < 7; r++) w.Row(r).CopyTo(bytes.AsSpan(100 + checked((int)(r * w.RowBytes))));
        using var mmf = MemoryMappedFile.CreateNew(null, bytes.Length);
        using var acc = mmf.CreateViewAccessor(0, bytes.Length);
        acc.WriteArray(0, bytes, 0, bytes.Length);
        var mapped = WeightView.FromBuffer(acc.SafeMemoryMappedViewHandle, 100, GgmlType.Q8_0, 7, 64);
        using var mm = new MatMul(_pool);
        var y0 = new float[7];
        var y1 = new float[7];
        mm.MatVec(w, x, y0);
        mm.MatVec(mapped, x, y1);
        Assert.Equal(y0, y1);
        var e = Assert.Throws<ArgumentException>(() => WeightView.FromBuffer(acc.SafeMemoryMappedViewHandle, 101 + 4096, GgmlType.Q8_0, 7, 64));
        Assert.Contains("needs", e.Message);
        Assert.Throws<ArgumentException>(() => WeightView.FromBytes(new byte[34 * 7 - 1], GgmlType.Q8_0, 7, 32));
        Assert.Throws<ArgumentException>(() => WeightView.FromBytes(new byte[1000], GgmlType.Q4_K, 1, 100));
        Assert.Throws<NotSupportedException>(() => WeightView.FromBytes(new byte[1000], GgmlType.IQ4_XS, 1, 256));
    }

    [Fact]
    public void Pool_rethrows_a_job_failure_and_keeps_working()
    {
        var job = new FailingJob();
        var e = Assert.Throws<InvalidOperationException>(() => _pool.Run(job, 10));
        Assert.Equal("item 7", e.Message);
        job.FailAt = -1;
        _pool.Run(job, 1000);
        Assert.Equal(1000 + 9, job.Done); // the first run still did its other nine items
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F16)]
    public void Calls_allocate_nothing_once_buffers_have_grown(GgmlType type)
    {
        var (w, x) = Problem(type, rows: 64, blocksPerRow: QuantFormat.Of(type).BlockSize == 256 ? 2 : 8, n: 40, seed: 6);
        using var mm = new MatMul(_pool);
        var y = new float[40 * 64];
        mm.MatMat(w, x, 40, y);
        mm.MatVec(w, x.AsSpan(0, w.Cols), y.AsSpan(0, 64));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            mm.MatMat(w, x, 40, y);
            mm.MatMat(w, x, 3, y);
            mm.MatVec(w, x.AsSpan(0, w.Cols), y.AsSpan(0, 64));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Every_item_of_every_run_executes_exactly_once_across_many_short_runs()
    {
        var job = new CountingJob();
        for (var run = 0; run < 3000; run++)
        {
            var count = 1 + run % 7;
            Array.Clear(job.Hits);
            _pool.Run(job, count);
            for (var i = 0; i < job.Hits.Length; i++) Assert.Equal(i < count ? 1 : 0, job.Hits[i]);
        }
    }

    private sealed class CountingJob : IParallelJob
    {
        public readonly int[] Hits = new int[8];

        public void Execute(int index, int worker) => Interlocked.Increment(ref Hits[index]);
    }

    private sealed class FailingJob : IParallelJob
    {
        public int FailAt = 7;
        public int Done;

        public void Execute(int index, int worker)
        {
            if (index == FailAt) throw new InvalidOperationException($"item {index}");
            Interlocked.Increment(ref Done);
        }
    }
}
