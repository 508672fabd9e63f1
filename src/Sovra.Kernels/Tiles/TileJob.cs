using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;

namespace Sovra.Kernels.Tiles;

/// <summary>
/// The prompt-processing product for the integer formats: Y[n, rows] = X[n, cols]·Wᵀ as register tiles of
/// 4 weight rows × 32 tokens (AVX-512) or 4 × 8 (AVX2). Tokens run across the vector lanes: activations are
/// transposed once per call into int16 pairs [k/2][lane], each weight pair is broadcast and vpmaddwd'd against
/// them, so one weight load feeds every token of the tile and each thread unpacks its slice of the weights
/// once per call (item = a block of rows; the whole call reads the weights once).
/// </summary>
internal sealed unsafe partial class TileJob : IParallelJob, IDisposable
{
    public const int MinTokens = 8;
    private const int R = 4;           // weight rows per register tile
    private const int RowBlock = 32;   // rows one item unpacks and multiplies

    private readonly byte*[] _scratch; // per worker: RowBlock unpacked rows
    private readonly long[] _scratchBytes;
    private byte* _panel;              // [token groups][panel group bytes]
    private long _panelBytes;

    private KernelPath _path;
    private GgmlType _type;
    private MinKind _mins;
    private byte* _w;
    private long _rowBytes;
    private int _rows, _cols, _n, _groups, _groupSize, _lanes, _tokenGroups;
    private long _pxBytes, _dxOffset, _sxOffset, _bxOffset, _panelGroupBytes, _unpackedRowBytes;
    private float* _y;
    private ActRow* _acts;

    /// <summary>The transposition, one item per token group; run it (on the pool) after Prepare and before the product.</summary>
    public IParallelJob Panel => _panelJob ??= new PanelJob(this);
    private PanelJob? _panelJob;

    public int PanelItems => _tokenGroups;

    private sealed class PanelJob(TileJob owner) : IParallelJob
    {
        public void Execute(int index, int worker) => owner.BuildPanelGroup(index);
    }

    /// <param name="byteTiles">Whether the unsigned-quant formats take the byte tile (tests turn it off to check the int16 tile).</param>
    public TileJob(int threads, bool byteTiles = true)
    {
        _scratch = new byte*[threads];
        _scratchBytes = new long[threads];
        _byteTiles = byteTiles;
    }

    private readonly bool _byteTiles;
    private int _lead; // rows before Y's first 64-byte boundary (0 when aligned): item 0 takes just those

    public int Items { get; private set; }

    public bool Supports(KernelPath path, GgmlType type) =>
        (TileUnpack.Supports(type) || IsFloat(type)) && (path == KernelPath.Avx512 || (path == KernelPath.Avx2 && Avx2Dot.IsSupported));

    private static bool IsFloat(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;

    private bool _float;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Prepare(KernelPath path, in WeightView w, ActRow* acts, int n, float* y)
    {
        _path = path;
        _type = w.Type;
        _mins = TileUnpack.Mins(w.Type);
        _w = w.Data;
        _rowBytes = w.RowBytes;
        _rows = w.Rows;
        _cols = w.Cols;
        _n = n;
        _y = y;
        _float = IsFloat(w.Type);
        _groupSize = _float ? 1 : TileUnpack.Group(w.Type);
        _groups = _cols / _groupSize;
        _lanes = path == KernelPath.Avx512 ? 16 : 8;
        var pairs = path == KernelPath.Avx512 ? 2 : 1; // token groups per register tile
        _tokenGroups = (n + _lanes - 1) / _lanes;
        _tokenGroups = (_tokenGroups + pairs - 1) / pairs * pairs;

        // Float formats: [cols][lane] floats and nothing else; integer formats: [cols/2][lane] int16 pairs + scales.
        _pxBytes = _float ? (long)_cols * _lanes * 4 : (long)_cols / 2 * _lanes * 4;
        _dxOffset = _pxBytes;
        _sxOffset = _dxOffset + (long)_groups * _lanes * 4;
        _panelGroupBytes = _float ? _pxBytes : _sxOffset + (long)_groups * _lanes * 4; // K-quant sub-block sums live only in the byte panel
        _unpackedRowBytes = _float ? Align(4L * _cols) : Align(2L * _cols) + 3 * Align(4L * _groups * 4);
        // The K-quants always take the byte tile: its kernels follow llama.cpp's float order (TileJobKQuants).
        _bytes = !_float && (_byteTiles || _type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K) && ByteUnpack.Supports(_type);
        if (_bytes) PrepareBytes();
        EnsurePanel(_panelGroupBytes * _tokenGroups);
        _acts = acts;
        // Row blocks start on 64-byte boundaries of Y (after a short lead block), so threads working on
        // neighbouring blocks at the same time never write the same cache line of a token's output row.
        var misaligned = (int)(((nuint)y & 63) / 4);
        _lead = misaligned == 0 ? 0 : Math.Min(_rows, 16 - misaligned);
        Items = (_lead > 0 ? 1 : 0) + (_rows - _lead + RowBlock - 1) / RowBlock;
    }

    private static long Align(long v) => (v + 63) & ~63L;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EnsurePanel(long bytes)
    {
        if (bytes <= _panelBytes) return;
        NativeMemory.AlignedFree(_panel);
        _panel = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        _panelBytes = bytes;
    }

    /// <summary>Transposes token group <paramref name="g"/>'s activations to [k/2][lane] int16 pairs plus per-lane scales and sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildPanelGroup(int g)
    {
        var p = _panel + g * _panelGroupBytes;
        new Span<byte>(p, checked((int)_panelGroupBytes)).Clear();
        var end = Math.Min(_n, (g + 1) * _lanes);
        for (var t = g * _lanes; t < end; t++)
        {
            var lane = t - g * _lanes;
            if (_bytes)
            {
                BuildBytePanelLane(p, t, lane);
                continue;
            }
            var acts = _acts;
            if (_float)
            {
                var pf = (float*)p + lane;
                var xf = acts[t].F;
                for (var k = 0; k < _cols; k++) pf[k * _lanes] = xf[k];
                continue;
            }
            var px = (int*)p + lane;
            var q = (ushort*)acts[t].Q; // two int8 values → one int16 pair per 32-bit lane slot
            for (var kp = 0; kp < _cols / 2; kp++)
            {
                var two = q[kp];
                px[kp * _lanes] = (ushort)(short)(sbyte)two | ((sbyte)(two >> 8) << 16);
            }
            var dx = (float*)(p + _dxOffset) + lane;
            for (var b = 0; b < _groups; b++) dx[b * _lanes] = acts[t].D[b];
            if (_mins == MinKind.Affine)
            {
                var sx = (float*)(p + _sxOffset) + lane;
                for (var b = 0; b < _groups; b++) sx[b * _lanes] = acts[t].S[b];
            }
        }
    }

    private UnpackedRow RowAt(byte* scratch, int i)
    {
        var p = scratch + i * _unpackedRowBytes;
        var groupBytes = Align(4L * _groups * 4);
        return new UnpackedRow
        {
            Wq = (short*)p,
            Dw = (float*)(p + Align(2L * _cols)),
            Mw = (float*)(p + Align(2L * _cols) + groupBytes),
            Ms = (int*)(p + Align(2L * _cols) + 2 * groupBytes),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index, int worker)
    {
        var need = _unpackedRowBytes * RowBlock;
        if (_scratchBytes[worker] < need)
        {
            NativeMemory.AlignedFree(_scratch[worker]);
            _scratch[worker] = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
            _scratchBytes[worker] = need;
        }
        var scratch = _scratch[worker];
        var r0 = _lead == 0 ? index * RowBlock : index == 0 ? 0 : _lead + (index - 1) * RowBlock;
        var count = _lead > 0 && index == 0 ? _lead : Math.Min(RowBlock, _rows - r0);
        if (_float)
        {
            ExecuteFloat(r0, count, scratch);
            return;
        }
        if (_bytes)
        {
            ExecuteBytes(r0, count, scratch);
            return;
        }
        for (var i = 0; i < count; i++) TileUnpack.Unpack(_type, _w + (r0 + i) * _rowBytes, _cols, RowAt(scratch, i));

        var rows = stackalloc UnpackedRow[R];
        var block = stackalloc float[RowBlock * 32]; // [row][token lane] of one token-group pass
        var pairs = _path == KernelPath.Avx512 ? 2 : 1;
        for (var tg = 0; tg < _tokenGroups; tg += pairs)
        {
            var panel = _panel + tg * _panelGroupBytes;
            for (var rt = 0; rt < count; rt += R)
            {
                // A short last tile repeats its last row; those results are not stored.
                for (var i = 0; i < R; i++) rows[i] = RowAt(scratch, Math.Min(rt + i, count - 1));
                if (_type == GgmlType.Q8_0)
                {
                    if (_path == KernelPath.Avx512) MicroQ8_512(rows, panel, block + rt * 32);
                    else MicroQ8_256(rows, panel, block + rt * 32);
                }
                else if (_path == KernelPath.Avx512) Micro512(rows, panel, block + rt * 32);
                else Micro256(rows, panel, block + rt * 32);
            }
            StoreBlock(block, r0, count, tg, pairs * _lanes);
        }
    }

    /// <summary>
    /// Writes a pass's [row][token lane] block (rows r0.., <paramref name="width"/> lanes of token group tg) into
    /// Y[t, r]: per token its rows are contiguous in Y, so each token gets one run of sequential stores instead
    /// of one scattered store per tile row (which stalled on Y's cache misses).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StoreBlock(float* block, int r0, int count, int tg, int width)
    {
        var lanes = Math.Min(width, _n - tg * _lanes);
        for (var l = 0; l < lanes; l++)
        {
            var dst = _y + (long)(tg * _lanes + l) * _rows + r0;
            for (var i = 0; i < count; i++) dst[i] = block[i * 32 + l];
        }
    }

    /// <summary>Float formats: rows decoded to float (F32 read in place), then 4 rows × 32 (or 8) tokens of FMAs.</summary>
    private void ExecuteFloat(int r0, int count, byte* scratch)
    {
        var rows = stackalloc float*[R];
        var decoded = stackalloc float*[RowBlock];
        for (var i = 0; i < count; i++)
        {
            var src = _w + (r0 + i) * _rowBytes;
            var dst = (float*)(scratch + i * _unpackedRowBytes);
            decoded[i] = _type == GgmlType.F32 ? (float*)src : dst;
            if (_type == GgmlType.F16) DecodeF16(src, dst, _cols);
            else if (_type == GgmlType.BF16) DecodeBf16(src, dst, _cols);
        }
        var block = stackalloc float[RowBlock * 32]; // [row][token lane] of one token-group pass
        var pairs = _path == KernelPath.Avx512 ? 2 : 1;
        for (var tg = 0; tg < _tokenGroups; tg += pairs)
        {
            var panel = _panel + tg * _panelGroupBytes;
            for (var rt = 0; rt < count; rt += R)
            {
                for (var i = 0; i < R; i++) rows[i] = decoded[Math.Min(rt + i, count - 1)];
                if (_path == KernelPath.Avx512) MicroF512(rows, (float*)panel, (float*)(panel + _panelGroupBytes), block + rt * 32);
                else MicroF256(rows, (float*)panel, block + rt * 32);
            }
            StoreBlock(block, r0, count, tg, pairs * _lanes);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeF16(byte* src, float* dst, int n)
    {
        var h = (ushort*)src;
        var i = 0;
        if (_path == KernelPath.Avx512)
            for (; i + 16 <= n; i += 16) Avx512Dot.HalfToFloat(Vector256.Load(h + i)).Store(dst + i);
        for (; i + 8 <= n; i += 8) Avx2Dot.HalfToFloat(Vector128.Load(h + i)).Store(dst + i);
        for (; i < n; i++) dst[i] = Fp.HalfTable[h[i]];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeBf16(byte* src, float* dst, int n)
    {
        var h = (ushort*)src;
        var i = 0;
        for (; i + 8 <= n; i += 8) (Vector256.WidenLower(Vector128.Load(h + i).ToVector256()).AsUInt32() << 16).AsSingle().Store(dst + i);
        for (; i < n; i++) dst[i] = Fp.Bf16ToFloat(h[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroF512(float** rows, float* px0, float* px1, float* out_)
    {
        const int L = 16;
        float* w0 = rows[0], w1 = rows[1], w2 = rows[2], w3 = rows[3];
        Vector512<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        for (var k = 0; k < _cols; k++)
        {
            var x0 = Vector512.Load(px0 + k * L);
            var x1 = Vector512.Load(px1 + k * L);
            var b = Vector512.Create(w0[k]);
            f00 = Avx512F.FusedMultiplyAdd(b, x0, f00); f01 = Avx512F.FusedMultiplyAdd(b, x1, f01);
            b = Vector512.Create(w1[k]);
            f10 = Avx512F.FusedMultiplyAdd(b, x0, f10); f11 = Avx512F.FusedMultiplyAdd(b, x1, f11);
            b = Vector512.Create(w2[k]);
            f20 = Avx512F.FusedMultiplyAdd(b, x0, f20); f21 = Avx512F.FusedMultiplyAdd(b, x1, f21);
            b = Vector512.Create(w3[k]);
            f30 = Avx512F.FusedMultiplyAdd(b, x0, f30); f31 = Avx512F.FusedMultiplyAdd(b, x1, f31);
        }
        f00.Store(out_); f01.Store(out_ + 16);
        f10.Store(out_ + 32); f11.Store(out_ + 48);
        f20.Store(out_ + 64); f21.Store(out_ + 80);
        f30.Store(out_ + 96); f31.Store(out_ + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroF256(float** rows, float* px, float* out_)
    {
        const int L = 8;
        float* w0 = rows[0], w1 = rows[1], w2 = rows[2], w3 = rows[3];
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var k = 0; k < _cols; k++)
        {
            var x = Avx.LoadVector256(px + k * L);
            f0 = Fma.MultiplyAdd(Vector256.Create(w0[k]), x, f0);
            f1 = Fma.MultiplyAdd(Vector256.Create(w1[k]), x, f1);
            f2 = Fma.MultiplyAdd(Vector256.Create(w2[k]), x, f2);
            f3 = Fma.MultiplyAdd(Vector256.Create(w3[k]), x, f3);
        }
        f0.Store(out_); f1.Store(out_ + 32); f2.Store(out_ + 64); f3.Store(out_ + 96);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Bcast512(short* w, int kp) => Vector512.Create(*(int*)(w + 2 * kp));

    /// <summary>4 rows × 2 token groups of 16: out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Micro512(UnpackedRow* rows, byte* panel, float* out_)
    {
        const int L = 16;
        var px0 = (int*)panel;
        var px1 = (int*)(panel + _panelGroupBytes);
        var pairsPerGroup = _groupSize / 2;
        short* w0 = rows[0].Wq, w1 = rows[1].Wq, w2 = rows[2].Wq, w3 = rows[3].Wq;
        Vector512<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        for (var g = 0; g < _groups; g++)
        {
            Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            var kEnd = (g + 1) * pairsPerGroup;
            for (var kp = g * pairsPerGroup; kp < kEnd; kp++)
            {
                var x0 = Vector512.Load(px0 + kp * L).AsInt16();
                var x1 = Vector512.Load(px1 + kp * L).AsInt16();
                var b = Bcast512(w0, kp).AsInt16();
                a00 += Avx512BW.MultiplyAddAdjacent(b, x0); a01 += Avx512BW.MultiplyAddAdjacent(b, x1);
                b = Bcast512(w1, kp).AsInt16();
                a10 += Avx512BW.MultiplyAddAdjacent(b, x0); a11 += Avx512BW.MultiplyAddAdjacent(b, x1);
                b = Bcast512(w2, kp).AsInt16();
                a20 += Avx512BW.MultiplyAddAdjacent(b, x0); a21 += Avx512BW.MultiplyAddAdjacent(b, x1);
                b = Bcast512(w3, kp).AsInt16();
                a30 += Avx512BW.MultiplyAddAdjacent(b, x0); a31 += Avx512BW.MultiplyAddAdjacent(b, x1);
            }
            var dx0 = Vector512.Load((float*)(panel + _dxOffset) + g * L);
            var dx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _dxOffset) + g * L);
            if (_mins == MinKind.Affine)
            {
                var sx0 = Vector512.Load((float*)(panel + _sxOffset) + g * L);
                var sx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _sxOffset) + g * L);
                Affine512(rows[0].Mw[g], sx0, sx1, ref f00, ref f01);
                Affine512(rows[1].Mw[g], sx0, sx1, ref f10, ref f11);
                Affine512(rows[2].Mw[g], sx0, sx1, ref f20, ref f21);
                Affine512(rows[3].Mw[g], sx0, sx1, ref f30, ref f31);
            }
            Scale512(rows[0].Dw[g], a00, a01, dx0, dx1, ref f00, ref f01);
            Scale512(rows[1].Dw[g], a10, a11, dx0, dx1, ref f10, ref f11);
            Scale512(rows[2].Dw[g], a20, a21, dx0, dx1, ref f20, ref f21);
            Scale512(rows[3].Dw[g], a30, a31, dx0, dx1, ref f30, ref f31);
        }
        f00.Store(out_); f01.Store(out_ + 16);
        f10.Store(out_ + 32); f11.Store(out_ + 48);
        f20.Store(out_ + 64); f21.Store(out_ + 80);
        f30.Store(out_ + 96); f31.Store(out_ + 112);
    }

    /// <summary>
    /// Q8_0 in ggml's summation order (see <see cref="Avx2Dot.Q8_0"/>): per output, eight float accumulators,
    /// one per group of four values of a block, each taking fma(d_w·d_x, exact int sum) block after block,
    /// then summed as ggml's hsum_float_8. Tokens run across the lanes, so the eight accumulators are eight
    /// registers per (row, token group): 2 rows × 16 tokens at a time, 16 accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroQ8_512(UnpackedRow* rows, byte* panel, float* out_)
    {
        const int L = 16;
        for (var tg = 0; tg < 2; tg++)
        {
            var px = (int*)(panel + tg * _panelGroupBytes);
            var dx = (float*)(panel + tg * _panelGroupBytes + _dxOffset);
            for (var rp = 0; rp < R; rp += 2)
            {
                short* w0 = rows[rp].Wq, w1 = rows[rp + 1].Wq;
                float* d0 = rows[rp].Dw, d1 = rows[rp + 1].Dw;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
                for (var g = 0; g < _groups; g++)
                {
                    var x = px + g * 16 * L;
                    var kp = g * 16;
                    var dxg = Vector512.Load(dx + g * L);
                    var s0 = dxg * Vector512.Create(d0[g]);
                    var s1 = dxg * Vector512.Create(d1[g]);
                    Q8Group(w0, w1, kp + 0, x + 0 * L, s0, s1, ref a0, ref c0);
                    Q8Group(w0, w1, kp + 2, x + 2 * L, s0, s1, ref a1, ref c1);
                    Q8Group(w0, w1, kp + 4, x + 4 * L, s0, s1, ref a2, ref c2);
                    Q8Group(w0, w1, kp + 6, x + 6 * L, s0, s1, ref a3, ref c3);
                    Q8Group(w0, w1, kp + 8, x + 8 * L, s0, s1, ref a4, ref c4);
                    Q8Group(w0, w1, kp + 10, x + 10 * L, s0, s1, ref a5, ref c5);
                    Q8Group(w0, w1, kp + 12, x + 12 * L, s0, s1, ref a6, ref c6);
                    Q8Group(w0, w1, kp + 14, x + 14 * L, s0, s1, ref a7, ref c7);
                }
                (((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))).Store(out_ + rp * 32 + tg * L);
                (((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7))).Store(out_ + (rp + 1) * 32 + tg * L);
            }
        }
    }

    /// <summary>One group of four values (two int16 pairs) of one block for two rows × 16 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Group(short* w0, short* w1, int kp, int* x, Vector512<float> s0, Vector512<float> s1,
        ref Vector512<float> a, ref Vector512<float> c)
    {
        var x0 = Vector512.Load(x).AsInt16();
        var x1 = Vector512.Load(x + 16).AsInt16();
        var i0 = Avx512BW.MultiplyAddAdjacent(Bcast512(w0, kp).AsInt16(), x0) + Avx512BW.MultiplyAddAdjacent(Bcast512(w0, kp + 1).AsInt16(), x1);
        var i1 = Avx512BW.MultiplyAddAdjacent(Bcast512(w1, kp).AsInt16(), x0) + Avx512BW.MultiplyAddAdjacent(Bcast512(w1, kp + 1).AsInt16(), x1);
        a = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), s0, a);
        c = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), s1, c);
    }

    /// <summary><see cref="MicroQ8_512"/> with AVX2: one row × 8 tokens at a time, eight accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroQ8_256(UnpackedRow* rows, byte* panel, float* out_)
    {
        const int L = 8;
        var px = (int*)panel;
        var dx = (float*)(panel + _dxOffset);
        for (var r = 0; r < R; r++)
        {
            var w = rows[r].Wq;
            var dw = rows[r].Dw;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (var g = 0; g < _groups; g++)
            {
                var x = px + g * 16 * L;
                var kp = g * 16;
                var s = Avx.LoadVector256(dx + g * L) * Vector256.Create(dw[g]);
                a0 = Q8Group(w, kp + 0, x + 0 * L, s, a0);
                a1 = Q8Group(w, kp + 2, x + 2 * L, s, a1);
                a2 = Q8Group(w, kp + 4, x + 4 * L, s, a2);
                a3 = Q8Group(w, kp + 6, x + 6 * L, s, a3);
                a4 = Q8Group(w, kp + 8, x + 8 * L, s, a4);
                a5 = Q8Group(w, kp + 10, x + 10 * L, s, a5);
                a6 = Q8Group(w, kp + 12, x + 12 * L, s, a6);
                a7 = Q8Group(w, kp + 14, x + 14 * L, s, a7);
            }
            (((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))).Store(out_ + r * 32);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8Group(short* w, int kp, int* x, Vector256<float> s, Vector256<float> a)
    {
        var i = Avx2.Add(Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w + 2 * kp)).AsInt16(), Avx.LoadVector256(x).AsInt16()),
            Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w + 2 * kp + 2)).AsInt16(), Avx.LoadVector256(x + 8).AsInt16()));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(i), s, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale512(float dw, Vector512<int> a0, Vector512<int> a1, Vector512<float> dx0, Vector512<float> dx1,
        ref Vector512<float> f0, ref Vector512<float> f1)
    {
        var d = Vector512.Create(dw);
        f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a0), dx0 * d, f0);
        f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a1), dx1 * d, f1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Affine512(float m, Vector512<float> sx0, Vector512<float> sx1, ref Vector512<float> f0, ref Vector512<float> f1)
    {
        var mv = Vector512.Create(m);
        f0 = Avx512F.FusedMultiplyAdd(sx0, mv, f0);
        f1 = Avx512F.FusedMultiplyAdd(sx1, mv, f1);
    }

    /// <summary>4 rows × 1 token group of 8 (AVX2): out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Micro256(UnpackedRow* rows, byte* panel, float* out_)
    {
        const int L = 8;
        var px = (int*)panel;
        var pairsPerGroup = _groupSize / 2;
        short* w0 = rows[0].Wq, w1 = rows[1].Wq, w2 = rows[2].Wq, w3 = rows[3].Wq;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var g = 0; g < _groups; g++)
        {
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            var kEnd = (g + 1) * pairsPerGroup;
            for (var kp = g * pairsPerGroup; kp < kEnd; kp++)
            {
                var x = Avx.LoadVector256(px + kp * L).AsInt16();
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w0 + 2 * kp)).AsInt16(), x));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w1 + 2 * kp)).AsInt16(), x));
                a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w2 + 2 * kp)).AsInt16(), x));
                a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w3 + 2 * kp)).AsInt16(), x));
            }
            var dx = Avx.LoadVector256((float*)(panel + _dxOffset) + g * L);
            if (_mins == MinKind.Affine)
            {
                var sx = Avx.LoadVector256((float*)(panel + _sxOffset) + g * L);
                f0 = Fma.MultiplyAdd(sx, Vector256.Create(rows[0].Mw[g]), f0);
                f1 = Fma.MultiplyAdd(sx, Vector256.Create(rows[1].Mw[g]), f1);
                f2 = Fma.MultiplyAdd(sx, Vector256.Create(rows[2].Mw[g]), f2);
                f3 = Fma.MultiplyAdd(sx, Vector256.Create(rows[3].Mw[g]), f3);
            }
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a0), dx * Vector256.Create(rows[0].Dw[g]), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a1), dx * Vector256.Create(rows[1].Dw[g]), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a2), dx * Vector256.Create(rows[2].Dw[g]), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a3), dx * Vector256.Create(rows[3].Dw[g]), f3);
        }
        f0.Store(out_); f1.Store(out_ + 32); f2.Store(out_ + 64); f3.Store(out_ + 96);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Dispose()
    {
        for (var i = 0; i < _scratch.Length; i++)
        {
            NativeMemory.AlignedFree(_scratch[i]);
            _scratch[i] = null;
            _scratchBytes[i] = 0;
        }
        NativeMemory.AlignedFree(_panel);
        _panel = null;
        _panelBytes = 0;
    }
}
