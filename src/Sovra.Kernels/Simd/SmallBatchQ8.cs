using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;
using Sovra.Kernels.Tiles;

namespace Sovra.Kernels.Simd;

/// <summary>
/// Q8_0 weights × a few Q8_0 activation rows (a decode step of several sequences), one token per group of lanes.
/// <para>
/// The activations of up to 8 tokens are laid out side by side as int16 once per call, so that one vector holds the
/// next E values of every token of a group (E = 2·lanes / tokens in the group). A weight row's block is widened to
/// int16 once per call too, and its next E values are broadcast to every token: one vpmaddwd then multiplies them
/// with all the tokens at once and one vpaddd accumulates, so the block's int32 dot of every token builds up in that
/// token's own lanes. Only then, once per (row, block, group), is it converted to float and scaled by d_w·d_x, so
/// the float work is shared by the group instead of repeated per token as a row-by-row dot must. No sign tricks are
/// needed (int16 × int16 is exact; a block's dot is at most 32·128·127 in magnitude).
/// </para>
/// <para>
/// Item i computes rows [i·Chunk, (i+1)·Chunk) for every token, four rows at a time (each thread widens its four rows
/// into its own scratch), so each thread streams a disjoint slice of the weights once per call.
/// </para>
/// </summary>
internal sealed unsafe class SmallBatchQ8 : IParallelJob, IDisposable
{
    /// <summary>Batches of 2..MaxTokens rows take this kernel; longer ones go to the prompt tile.</summary>
    public const int MaxTokens = 20;

    /// <summary>Rows widened and multiplied together.</summary>
    private const int Strip = 4;

    /// <summary>
    /// Q8_0, and the formats the int16 prompt tile unpacks without an affine min (Q4_0, Q5_0, and the K-quants
    /// Q4_K, Q5_K, Q6_K, whose sub-block scales are folded into the int16 values and whose groups are 256 wide).
    /// </summary>
    public static bool Supports(KernelPath path, GgmlType type, int n) =>
        type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
        && n is >= 2 and <= MaxTokens && path >= KernelPath.Avx2 && KernelDispatch.IsAvailable(path);

    /// <summary>Matrices multiplied by the same activations in one run (Q, K and V; gate and up).</summary>
    public const int MaxParts = 3;

    // Per part p: the weights [rows][rowBytes] Q8_0 blocks, the output [n][rows], its row chunk, and the first
    // item of the run that belongs to it.
    private readonly long[] _wAddr = new long[MaxParts], _yAddr = new long[MaxParts], _rowBytesOf = new long[MaxParts];
    private readonly int[] _rowsOf = new int[MaxParts], _chunkOf = new int[MaxParts], _firstItem = new int[MaxParts + 1];
    private int _parts;
    private int _blocks, _cols, _n, _lanes, _groupCount, _gs;   // _blocks: scale groups per row, of _gs values
    private bool _wide, _kmins;
    private GgmlType _type;
    private ActRow* _acts;
    private readonly int[] _groupStart = new int[(MaxTokens + 3) / 4];
    private readonly int[] _groupSize = new int[(MaxTokens + 3) / 4];   // 8 or 4 lanes-groups (tokens, padding included)
    private readonly int[] _groupValid = new int[(MaxTokens + 3) / 4];  // real tokens in the group

    private short* _x;         // per group g: [blocks][32·size] int16 at _x + g·cols·8 (room for 8 tokens)
    private float* _d;         // per group g: [blocks][lanes] d_x of the token that owns each lane, at _d + g·blocks·16
    private int* _bx;          // K-quant mins, per group g: [blocks][4][lanes] int16 pairs of Σx over sub-blocks (2j, 2j+1)
    private long _xBytes, _dBytes, _bxBytes;
    private byte* _scratch;    // per worker: [Strip][cols] int16 widened weights, then [Strip][blocks] float scales
    private long _scratchBytes, _scratchStride;

    /// <summary>
    /// Sizes the buffers for a call. Then every token's activation row, once quantized, goes through
    /// <see cref="Interleave"/> (MatMul does it in the quantizing run), the matrices are added with
    /// <see cref="AddPart"/>, and the pool runs this job over <see cref="Items"/> items.
    /// </summary>
    public void Prepare(KernelThreadPool pool, bool wide, GgmlType type, int cols, ActRow* acts, int n)
    {
        _type = type; _gs = TileUnpack.Group(type); _kmins = TileUnpack.Mins(type) == MinKind.KMins;
        _cols = cols; _blocks = cols / _gs; _acts = acts; _n = n;
        _wide = wide; _lanes = wide ? 16 : 8;
        _parts = 0;
        _firstItem[0] = 0;
        _groupCount = 0;
        for (var t = 0; t < n;)
        {
            var left = n - t;
            var size = left is > 4 and < 8 or >= 8 ? 8 : 4;
            var valid = Math.Min(size, left);
            _groupStart[_groupCount] = t; _groupSize[_groupCount] = size; _groupValid[_groupCount] = valid;
            _groupCount++;
            t += valid;
        }
        Grow(ref _x, ref _xBytes, 2L * cols * 8 * _groupCount);
        Grow(ref _d, ref _dBytes, 4L * _blocks * 16 * _groupCount);
        if (_kmins) Grow(ref _bx, ref _bxBytes, 4L * _blocks * 4 * 16 * _groupCount);
        // Per row: int16 values, then float scales, float dmins, int16-pair mins.
        _scratchStride = (2L * Strip * cols + 4L * Strip * _blocks * (2 + 4) + 63) & ~63L;
        Grow(ref _scratch, ref _scratchBytes, _scratchStride * pool.Threads);
    }

    /// <summary>Adds a matrix with <see cref="Prepare"/>'s columns; its items follow the previous part's.</summary>
    public void AddPart(byte* w, long rowBytes, int rows, float* y, int chunk)
    {
        var p = _parts++;
        _wAddr[p] = (long)w; _rowBytesOf[p] = rowBytes; _rowsOf[p] = rows; _yAddr[p] = (long)y; _chunkOf[p] = chunk;
        _firstItem[p + 1] = _firstItem[p] + (rows + chunk - 1) / chunk;
    }

    /// <summary>Items of the run over every part added.</summary>
    public int Items => _firstItem[_parts];

    private static void Grow<T>(ref T* p, ref long have, long need) where T : unmanaged
    {
        if (need <= have) return;
        NativeMemory.AlignedFree(p);
        p = (T*)NativeMemory.AlignedAlloc((nuint)need, 64);
        have = need;
    }

    /// <summary>Token t's int16 values and lane scales into its group's layout (and the padding tokens' zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Interleave(int t)
    {
        var g = 0;
        while (g + 1 < _groupCount && _groupStart[g + 1] <= t) g++;
        int size = _groupSize[g], j = t - _groupStart[g], lanes = _lanes, blocks = _blocks;
        var e = 2 * lanes / size;              // values of one token side by side in one vector
        var perToken = lanes / size;           // lanes a token owns
        var xg = _x + (long)g * _cols * 8;
        var dg = _d + (long)g * blocks * 16;
        var a = _acts[t];
        var last = j == _groupValid[g] - 1;
        var pad = size - _groupValid[g];
        for (var b = 0; b < blocks; b++)
        {
            var dst = xg + (long)b * _gs * size;
            var src = a.Q + _gs * b;
            for (var c = 0; c < _gs / e; c++)
            {
                var to = dst + c * 2 * lanes + j * e;
                for (var k = 0; k < e; k++) to[k] = src[c * e + k];
                // The last real token also zeroes the padding tokens after it.
                if (last && pad > 0) new Span<short>(to + e, pad * e).Clear();
            }
            var dl = dg + (long)b * lanes + j * perToken;
            for (var k = 0; k < perToken; k++) dl[k] = a.D[b];
            if (last && pad > 0) new Span<float>(dl + perToken, pad * perToken).Clear();
            if (_kmins)
            {
                // Σx of sub-blocks (2j, 2j+1) as an int16 pair in the token's first lane, zeros in its others.
                var bs = a.BSums + 16 * b;
                var bx = _bx + (long)g * blocks * 4 * 16 + (long)b * 4 * lanes;
                for (var p = 0; p < 4; p++)
                {
                    var lo = bs[4 * p] + bs[4 * p + 1];
                    var hi = bs[4 * p + 2] + bs[4 * p + 3];
                    var at = bx + p * lanes + j * perToken;
                    at[0] = (ushort)(short)lo | (hi << 16);
                    for (var k = 1; k < perToken; k++) at[k] = 0;
                    if (last && pad > 0) new Span<int>(at + perToken, pad * perToken).Clear();
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index, int worker)
    {
        var part = 0;
        while (index >= _firstItem[part + 1]) part++;
        var w = (byte*)_wAddr[part];
        var y = (float*)_yAddr[part];
        var rowBytes = _rowBytesOf[part];
        var rows = _rowsOf[part];
        var chunk = _chunkOf[part];
        var r0 = (index - _firstItem[part]) * chunk;
        var r1 = Math.Min(rows, r0 + chunk);
        int cols = _cols, blocks = _blocks, gs = _gs;
        var ws = (short*)(_scratch + worker * _scratchStride);
        var ss = (float*)((byte*)ws + 2L * Strip * cols);
        var mw = ss + Strip * blocks;
        var ms = (int*)(mw + Strip * blocks);
        var acc = stackalloc float[Strip * 16];
        for (var r = r0; r < r1; r += Strip)
        {
            // Widen the strip's rows (the last strip repeats its last row where the chunk ends).
            for (var i = 0; i < Strip; i++)
            {
                var row = w + Math.Min(r + i, r1 - 1) * rowBytes;
                if (_type == GgmlType.Q8_0) Widen(row, ws + (long)i * cols, ss + i * blocks, blocks);
                else TileUnpack.Unpack(_type, row, cols, new UnpackedRow { Wq = ws + (long)i * cols, Dw = ss + i * blocks, Mw = mw + i * blocks, Ms = ms + 4 * i * blocks });
            }
            // Ask for the next strip's rows while this one is multiplied: the kernel's pace leaves the memory idle,
            // and waiting for each row at its first touch (the widening) cost about as much as the products.
            if (r + Strip < r1)
            {
                var next = w + (r + Strip) * rowBytes;
                var bytes = Math.Min(Strip, r1 - r - Strip) * rowBytes;
                for (long o = 0; o < bytes; o += 64) Sse.Prefetch0(next + o);
            }
            var stored = Math.Min(Strip, r1 - r);
            for (var g = 0; g < _groupCount; g++)
            {
                var xg = _x + (long)g * cols * 8;
                var dg = _d + (long)g * blocks * 16;
                var size = _groupSize[g];
                var mins = new Mins(_kmins ? _bx + (long)g * blocks * 4 * 16 : null, mw, ms);
                if (_wide)
                {
                    if (size == 8) Wide8(ws, cols, ss, blocks, gs, xg, dg, acc, mins);
                    else Wide4(ws, cols, ss, blocks, gs, xg, dg, acc, mins);
                }
                else
                {
                    if (size == 8) Narrow8(ws, cols, ss, blocks, gs, xg, dg, acc, mins);
                    else Narrow4(ws, cols, ss, blocks, gs, xg, dg, acc, mins);
                }
                // acc[i·16 + lane]: token j owns lanes [j·per, (j+1)·per).
                var per = _lanes / size;
                var t0 = _groupStart[g];
                var valid = _groupValid[g];
                for (var i = 0; i < stored; i++)
                    for (var j = 0; j < valid; j++)
                    {
                        var s = 0f;
                        for (var k = 0; k < per; k++) s += acc[i * 16 + j * per + k];
                        y[(long)(t0 + j) * rows + r + i] = s;
                    }
            }
        }
    }

    /// <summary>One row's blocks: int16 values to <paramref name="q"/>, float scales to <paramref name="d"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(byte* row, short* q, float* d, int blocks)
    {
        for (var b = 0; b < blocks; b++, row += Q8_0Block.Bytes, q += 32)
        {
            d[b] = Fp.LoadHalf(row);
            var v = Vector256.Load((sbyte*)(row + 2));
            var (lo, hi) = Vector256.Widen(v);
            lo.Store(q);
            hi.Store(q + 16);
        }
    }

    // The four kernels: Strip rows × one group of tokens, over all blocks; acc gets [Strip][16] lane sums.
    // Wide: 512-bit, 16 int32 lanes; Narrow: 256-bit, 8 lanes. 8 or 4: tokens in the group.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Wide8(short* ws, int cols, float* ss, int blocks, int gs, short* xg, float* dg, float* acc, in Mins k)
    {
        short* w0 = ws, w1 = ws + cols, w2 = ws + 2 * cols, w3 = ws + 3 * cols;
        float* s0 = ss, s1 = ss + blocks, s2 = ss + 2 * blocks, s3 = ss + 3 * blocks;
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var b = 0; b < blocks; b++)
        {
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            var xb = xg + b * gs * 8;
            var o = b * gs;
            for (var c = 0; c < gs; c += 4)
            {
                var x = Vector512.Load(xb + 8 * c);
                i0 += Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(*(long*)(w0 + o + c)).AsInt16());
                i1 += Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(*(long*)(w1 + o + c)).AsInt16());
                i2 += Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(*(long*)(w2 + o + c)).AsInt16());
                i3 += Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(*(long*)(w3 + o + c)).AsInt16());
            }
            var d = Vector512.Load(dg + b * 16);
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), d * s0[b], f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), d * s1[b], f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i2), d * s2[b], f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i3), d * s3[b], f3);
            if (k.Bx != null)
            {
                f0 = k.Sub512(f0, 0, b, blocks, d); f1 = k.Sub512(f1, 1, b, blocks, d);
                f2 = k.Sub512(f2, 2, b, blocks, d); f3 = k.Sub512(f3, 3, b, blocks, d);
            }
        }
        f0.Store(acc); f1.Store(acc + 16); f2.Store(acc + 32); f3.Store(acc + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Wide4(short* ws, int cols, float* ss, int blocks, int gs, short* xg, float* dg, float* acc, in Mins k)
    {
        short* w0 = ws, w1 = ws + cols, w2 = ws + 2 * cols, w3 = ws + 3 * cols;
        float* s0 = ss, s1 = ss + blocks, s2 = ss + 2 * blocks, s3 = ss + 3 * blocks;
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var b = 0; b < blocks; b++)
        {
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            var xb = xg + b * gs * 4;
            var o = b * gs;
            for (var c = 0; c < gs; c += 8)
            {
                var x = Vector512.Load(xb + 4 * c);
                i0 += Avx512BW.MultiplyAddAdjacent(x, Avx512F.BroadcastVector128ToVector512((int*)(w0 + o + c)).AsInt16());
                i1 += Avx512BW.MultiplyAddAdjacent(x, Avx512F.BroadcastVector128ToVector512((int*)(w1 + o + c)).AsInt16());
                i2 += Avx512BW.MultiplyAddAdjacent(x, Avx512F.BroadcastVector128ToVector512((int*)(w2 + o + c)).AsInt16());
                i3 += Avx512BW.MultiplyAddAdjacent(x, Avx512F.BroadcastVector128ToVector512((int*)(w3 + o + c)).AsInt16());
            }
            var d = Vector512.Load(dg + b * 16);
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), d * s0[b], f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), d * s1[b], f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i2), d * s2[b], f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i3), d * s3[b], f3);
            if (k.Bx != null)
            {
                f0 = k.Sub512(f0, 0, b, blocks, d); f1 = k.Sub512(f1, 1, b, blocks, d);
                f2 = k.Sub512(f2, 2, b, blocks, d); f3 = k.Sub512(f3, 3, b, blocks, d);
            }
        }
        f0.Store(acc); f1.Store(acc + 16); f2.Store(acc + 32); f3.Store(acc + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow8(short* ws, int cols, float* ss, int blocks, int gs, short* xg, float* dg, float* acc, in Mins k)
    {
        short* w0 = ws, w1 = ws + cols, w2 = ws + 2 * cols, w3 = ws + 3 * cols;
        float* s0 = ss, s1 = ss + blocks, s2 = ss + 2 * blocks, s3 = ss + 3 * blocks;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var b = 0; b < blocks; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            var xb = xg + b * gs * 8;
            var o = b * gs;
            for (var c = 0; c < gs; c += 2)
            {
                var x = Vector256.Load(xb + 8 * c);
                i0 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(int*)(w0 + o + c)).AsInt16());
                i1 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(int*)(w1 + o + c)).AsInt16());
                i2 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(int*)(w2 + o + c)).AsInt16());
                i3 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(int*)(w3 + o + c)).AsInt16());
            }
            var d = Vector256.Load(dg + b * 8);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), d * s0[b], f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), d * s1[b], f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), d * s2[b], f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), d * s3[b], f3);
            if (k.Bx != null)
            {
                f0 = k.Sub256(f0, 0, b, blocks, d); f1 = k.Sub256(f1, 1, b, blocks, d);
                f2 = k.Sub256(f2, 2, b, blocks, d); f3 = k.Sub256(f3, 3, b, blocks, d);
            }
        }
        f0.Store(acc); f1.Store(acc + 16); f2.Store(acc + 32); f3.Store(acc + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow4(short* ws, int cols, float* ss, int blocks, int gs, short* xg, float* dg, float* acc, in Mins k)
    {
        short* w0 = ws, w1 = ws + cols, w2 = ws + 2 * cols, w3 = ws + 3 * cols;
        float* s0 = ss, s1 = ss + blocks, s2 = ss + 2 * blocks, s3 = ss + 3 * blocks;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (var b = 0; b < blocks; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            var xb = xg + b * gs * 4;
            var o = b * gs;
            for (var c = 0; c < gs; c += 4)
            {
                var x = Vector256.Load(xb + 4 * c);
                i0 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(long*)(w0 + o + c)).AsInt16());
                i1 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(long*)(w1 + o + c)).AsInt16());
                i2 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(long*)(w2 + o + c)).AsInt16());
                i3 += Avx2.MultiplyAddAdjacent(x, Vector256.Create(*(long*)(w3 + o + c)).AsInt16());
            }
            var d = Vector256.Load(dg + b * 8);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), d * s0[b], f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), d * s1[b], f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), d * s2[b], f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), d * s3[b], f3);
            if (k.Bx != null)
            {
                f0 = k.Sub256(f0, 0, b, blocks, d); f1 = k.Sub256(f1, 1, b, blocks, d);
                f2 = k.Sub256(f2, 2, b, blocks, d); f3 = k.Sub256(f3, 3, b, blocks, d);
            }
        }
        f0.Store(acc); f1.Store(acc + 16); f2.Store(acc + 32); f3.Store(acc + 48);
    }

    /// <summary>
    /// The K-quant min term of a 256-group, − dmin·d_x·Σ_j m_j·Σx_j: the eight m_j of a row as int16 pairs broadcast
    /// against the tokens' pairs of sub-block sums (one vpmaddwd per pair), exact in int32, then scaled in float.
    /// </summary>
    private readonly struct Mins(int* bx, float* mw, int* ms)
    {
        public readonly int* Bx = bx;   // [blocks][4][lanes] the group's token pairs (null: no min term)
        private readonly float* _mw = mw; // [Strip][blocks] dmin
        private readonly int* _ms = ms;   // [Strip][blocks][4] (m_2j, m_2j+1) pairs

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Sub512(Vector512<float> f, int row, int b, int blocks, Vector512<float> d)
        {
            var x = Bx + b * 4 * 16;
            var m = _ms + 4 * (row * blocks + b);
            var s = Avx512BW.MultiplyAddAdjacent(Vector512.Load(x).AsInt16(), Vector512.Create(m[0]).AsInt16())
                + Avx512BW.MultiplyAddAdjacent(Vector512.Load(x + 16).AsInt16(), Vector512.Create(m[1]).AsInt16())
                + Avx512BW.MultiplyAddAdjacent(Vector512.Load(x + 32).AsInt16(), Vector512.Create(m[2]).AsInt16())
                + Avx512BW.MultiplyAddAdjacent(Vector512.Load(x + 48).AsInt16(), Vector512.Create(m[3]).AsInt16());
            return Avx512F.FusedMultiplyAddNegated(Avx512F.ConvertToVector512Single(s), d * _mw[row * blocks + b], f);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Sub256(Vector256<float> f, int row, int b, int blocks, Vector256<float> d)
        {
            var x = Bx + b * 4 * 8;
            var m = _ms + 4 * (row * blocks + b);
            var s = Avx2.MultiplyAddAdjacent(Vector256.Load(x).AsInt16(), Vector256.Create(m[0]).AsInt16())
                + Avx2.MultiplyAddAdjacent(Vector256.Load(x + 8).AsInt16(), Vector256.Create(m[1]).AsInt16())
                + Avx2.MultiplyAddAdjacent(Vector256.Load(x + 16).AsInt16(), Vector256.Create(m[2]).AsInt16())
                + Avx2.MultiplyAddAdjacent(Vector256.Load(x + 24).AsInt16(), Vector256.Create(m[3]).AsInt16());
            return Fma.MultiplyAddNegated(Avx.ConvertToVector256Single(s), d * _mw[row * blocks + b], f);
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_bx); _bx = null; _bxBytes = 0;
        NativeMemory.AlignedFree(_x); _x = null; _xBytes = 0;
        NativeMemory.AlignedFree(_d); _d = null; _dBytes = 0;
        NativeMemory.AlignedFree(_scratch); _scratch = null; _scratchBytes = 0;
    }
}
