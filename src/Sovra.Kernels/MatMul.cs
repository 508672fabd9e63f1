using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;
using Sovra.Kernels.Tiles;

namespace Sovra.Kernels;

/// <summary>
/// Matrix products over <see cref="WeightView"/>s on a <see cref="KernelThreadPool"/>. Activations are quantized
/// once per call (to the weight format's pair, as ggml does) into buffers this object keeps and reuses, so a call
/// allocates nothing once the buffers have grown to the largest shape. Rows are split between the threads, so each
/// thread streams a disjoint slice of the weights. One caller at a time per instance.
/// </summary>
public sealed unsafe class MatMul : IDisposable
{
    private readonly KernelThreadPool _pool;
    private readonly RowsJob _rows = new();
    private readonly QuantJob _quant = new();
    private readonly SmallBatchQ8 _small = new();
    private readonly TileJob _tiles;
    private byte* _act;       // [n][actRowBytes] quantized activations
    private long _actBytes;
    private ActRow* _actRows; // [n] views into _act
    private int _actRowsCount;

    public MatMul(KernelThreadPool pool) : this(pool, KernelDispatch.Best) { }

    /// <summary>Runs the kernels of <paramref name="path"/> (tests compare every path with the scalar reference).</summary>
    public MatMul(KernelThreadPool pool, KernelPath path) : this(pool, path, byteTiles: true) { }

    /// <summary>As above; <paramref name="byteTiles"/> false keeps every integer format on the int16 prompt tile (tests check both).</summary>
    internal MatMul(KernelThreadPool pool, KernelPath path, bool byteTiles)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (!KernelDispatch.IsAvailable(path)) throw new PlatformNotSupportedException($"kernel path {path} is not available on this CPU");
        KernelDispatch.WarmTables();
        _pool = pool;
        Path = path;
        _tiles = new TileJob(pool.Threads, byteTiles);
    }

    public KernelPath Path { get; }

    public KernelThreadPool Pool => _pool;

    /// <summary>y[rows] = W · x[cols] (decode).</summary>
    public void MatVec(in WeightView w, ReadOnlySpan<float> x, Span<float> y) => MatMat(w, x, 1, y);

    /// <summary>Y[n, rows] = X[n, cols] · Wᵀ (prompt processing and batches); X and Y row-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMat(in WeightView w, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "need at least one activation row");
        if (x.Length < (long)n * w.Cols) throw new ArgumentException($"X needs {n}x{w.Cols} values, got {x.Length}");
        if (y.Length < (long)n * w.Rows) throw new ArgumentException($"Y needs {n}x{w.Rows} values, got {y.Length}");
        var f = w.Format;
        fixed (float* px = x)
        fixed (float* py = y)
        {
            var chunk = Chunk(w.Rows);
            if (SmallBatchQ8.Supports(Path, w.Type, n))
            {
                StartSmallBatch(f.Activation, w.Type, px, n, w.Cols);
                _small.AddPart(w.Data, w.RowBytes, w.Rows, py, chunk);
                _pool.Run(_small, _small.Items);
                return;
            }
            QuantizeActivations(f.Activation, px, n, w.Cols);
            // Q4_K: llama.cpp multiplies the tokens of each full group of four with its GEMM and the rest (the last
            // n mod 4) with its GEMV, in two float orders; the tile computes the first and row dots the rest.
            var quad = KernelDispatch.HasQuadOrder(w.Type) ? n - n % 4 : n;
            var done = 0;
            if (quad >= TileJob.MinTokens && _tiles.Supports(Path, w.Type))
            {
                _tiles.Prepare(Path, w, _actRows, quad, py);
                _pool.Run(_tiles.Panel, _tiles.PanelItems);
                _pool.Run(_tiles, _tiles.Items);
                if (quad == n) return;
                done = quad;
            }
            _rows.W = w.Data;
            _rows.RowBytes = w.RowBytes;
            _rows.Rows = w.Rows;
            _rows.Blocks = w.Cols / f.BlockSize;
            _rows.Acts = _actRows + done;
            _rows.N = n - done;
            _rows.Quad = KernelDispatch.HasQuadOrder(w.Type) ? quad - done : 0;
            _rows.Y = py + (long)done * w.Rows;
            _rows.Dot = KernelDispatch.Dot(Path, w.Type);
            _rows.DotQuad = KernelDispatch.DotQuad(Path, w.Type);
            _rows.Chunk = chunk;
            _pool.Run(_rows, (w.Rows + chunk - 1) / chunk);
        }
    }

    // ~4 items per thread balance a busy core; 16-row granules keep each item's weights contiguous.
    private int Chunk(int rows) => Math.Max(16, (rows / (_pool.Threads * 4) + 15) & ~15);

    /// <summary>
    /// Y_i[n, rows_i] = X[n, cols] · W_iᵀ for two or three matrices over the same X (Q, K and V; gate and up):
    /// as separate MatMat calls, but where the small-batch kernel runs, X is quantized and laid out once and all
    /// the products are one run of the pool. Every W must have X's columns; <paramref name="third"/> false ignores c.
    /// </summary>
    public void MatMatShared(in WeightView a, in WeightView b, in WeightView c, bool third, ReadOnlySpan<float> x, int n,
        Span<float> ya, Span<float> yb, Span<float> yc)
    {
        if (b.Cols != a.Cols || (third && c.Cols != a.Cols)) throw new ArgumentException("the matrices must have the same columns");
        var shared = SmallBatchQ8.Supports(Path, a.Type, n) && b.Type == a.Type && (!third || c.Type == a.Type);
        if (!shared)
        {
            MatMat(a, x, n, ya);
            MatMat(b, x, n, yb);
            if (third) MatMat(c, x, n, yc);
            return;
        }
        if (x.Length < (long)n * a.Cols) throw new ArgumentException($"X needs {n}x{a.Cols} values, got {x.Length}");
        if (ya.Length < (long)n * a.Rows || yb.Length < (long)n * b.Rows || (third && yc.Length < (long)n * c.Rows))
            throw new ArgumentException("an output is too short for its matrix");
        var kind = a.Format.Activation;
        fixed (float* px = x)
        fixed (float* pa = ya)
        fixed (float* pb = yb)
        fixed (float* pc = yc)
        {
            StartSmallBatch(kind, a.Type, px, n, a.Cols);
            _small.AddPart(a.Data, a.RowBytes, a.Rows, pa, Chunk(a.Rows));
            _small.AddPart(b.Data, b.RowBytes, b.Rows, pb, Chunk(b.Rows));
            if (third) _small.AddPart(c.Data, c.RowBytes, c.Rows, pc, Chunk(c.Rows));
            _pool.Run(_small, _small.Items);
        }
    }

    /// <summary>Quantizes X for the small-batch kernel, each token laid out for it as it is quantized; the caller
    /// then adds the matrices (<see cref="SmallBatchQ8.AddPart"/>) and runs it.</summary>
    private void StartSmallBatch(ActivationKind kind, GgmlType type, float* x, int n, int cols)
    {
        PrepareActivations(kind, n, cols);
        _small.Prepare(_pool, Path == KernelPath.Avx512, type, cols, _actRows, n);
        RunQuantize(kind, x, n, cols, _small);
    }

    private void QuantizeActivations(ActivationKind kind, float* x, int n, int cols)
    {
        PrepareActivations(kind, n, cols);
        RunQuantize(kind, x, n, cols, null);
    }

    private void RunQuantize(ActivationKind kind, float* x, int n, int cols, SmallBatchQ8? then)
    {
        _quant.Kind = kind;
        _quant.X = x;
        _quant.Cols = cols;
        _quant.Rows = _actRows;
        _quant.Then = then;
        _pool.Run(_quant, n);
        _quant.Then = null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PrepareActivations(ActivationKind kind, int n, int cols)
    {
        var rowBytes = Activations.RowBytes(kind, cols);
        var need = rowBytes * n;
        if (need > _actBytes)
        {
            NativeMemory.AlignedFree(_act);
            _act = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
            _actBytes = need;
        }
        if (n > _actRowsCount)
        {
            NativeMemory.Free(_actRows);
            _actRows = (ActRow*)NativeMemory.Alloc((nuint)n, (nuint)sizeof(ActRow));
            _actRowsCount = n;
        }
        for (var t = 0; t < n; t++) _actRows[t] = Activations.Row(kind, _act + t * rowBytes, cols);
    }

    /// <summary>Quantizes activation row <c>index</c> (and lays it out for the small-batch kernel when that runs next).</summary>
    private sealed class QuantJob : IParallelJob
    {
        public ActivationKind Kind;
        public float* X;
        public int Cols;
        public ActRow* Rows;
        public SmallBatchQ8? Then;

        public void Execute(int index, int worker)
        {
            Activations.Quantize(Kind, X + (long)index * Cols, Cols, Rows[index]);
            Then?.Interleave(index);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        NativeMemory.AlignedFree(_act);
        NativeMemory.Free(_actRows);
        _act = null;
        _actRows = null;
        _actBytes = 0;
        _actRowsCount = 0;
        _tiles.Dispose();
        _small.Dispose();
    }

    ~MatMul() => Dispose();

    /// <summary>Row dot products: item i computes rows [i·Chunk, (i+1)·Chunk) for every activation row.</summary>
    private sealed class RowsJob : IParallelJob
    {
        public byte* W;
        public long RowBytes;
        public int Rows, Blocks, N, Chunk;
        public int Quad; // the first Quad activation rows take DotQuad (see KernelDispatch.DotQuad)
        public ActRow* Acts;
        public float* Y;
        public delegate*<byte*, in ActRow, int, float> Dot, DotQuad;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index, int worker)
        {
            var r0 = index * Chunk;
            var r1 = Math.Min(Rows, r0 + Chunk);
            for (var r = r0; r < r1; r++)
            {
                var row = W + r * RowBytes;
                // The row stays in L1 while every activation row passes over it.
                var t = 0;
                for (; t < Quad; t++) Y[(long)t * Rows + r] = DotQuad(row, Acts[t], Blocks);
                for (; t < N; t++) Y[(long)t * Rows + r] = Dot(row, Acts[t], Blocks);
            }
        }
    }
}
