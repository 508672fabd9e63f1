using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;
using Sovra.Kernels.Simd;

namespace Sovra.Kernels.Tiles;

/// <summary>
/// The byte tile for formats whose quants are small unsigned integers (Q4_0/1, Q5_0/1, Q4_K, Q5_K, Q6_K):
/// the panel holds the int8 activations as four per token lane ([k/4][lane] int32), the weight row its raw
/// quants one per byte; a broadcast of four weight bytes <c>vpmaddubsw</c>'d against the panel gives, per
/// token, two int16 sums of two products. Those int16 sums are added for a whole chunk (as many steps as
/// the value range allows without overflow, see <see cref="ByteUnpack.Steps"/>) and only then widened by
/// one <c>vpmaddwd</c> with the chunk's scale pair, so a chunk of 4·steps values costs steps + 1
/// multiplies instead of the int16 tile's 2·steps multiplies and 2·steps adds. (.NET 10 cannot emit
/// <c>vpdpbusd</c> on CPUs without AVX-VNNI, Zen 4 among them; this is the densest multiply it offers there.)
/// All sums stay exact in int32, so results equal the int16 tile's.
/// </summary>
internal sealed unsafe partial class TileJob
{
    private bool _bytes;
    private ByteMins _byteMins;
    private int _steps, _pairs, _offset;
    private long _oxOffset;

    private void PrepareBytes()
    {
        _byteMins = ByteUnpack.Mins(_type);
        _steps = ByteUnpack.Steps(_type);
        _pairs = ByteUnpack.Pairs(_type);
        _offset = ByteUnpack.Offset(_type);
        _pxBytes = (long)_cols * _lanes;
        _dxOffset = _pxBytes;
        _sxOffset = _dxOffset + (long)_groups * _lanes * 4;
        _oxOffset = _sxOffset + (long)_groups * _lanes * 4;
        _bxOffset = _oxOffset + (long)_groups * _lanes * 4;
        _panelGroupBytes = _bxOffset + (long)_groups * _pairs * _lanes * 4;
        _unpackedRowBytes = Align(_cols) + 2 * Align(4L * _groups) + Align(4L * _groups * _pairs) + Align(4L * (_cols / 4));
    }

    private ByteRow ByteRowAt(byte* scratch, int i)
    {
        var p = scratch + i * _unpackedRowBytes;
        var g = Align(4L * _groups);
        var wb = Align(_cols);
        return new ByteRow
        {
            Wb = p,
            Dw = (float*)(p + wb),
            Mw = (float*)(p + wb + g),
            Ms = (int*)(p + wb + 2 * g),
            Sc = (int*)(p + wb + 2 * g + Align(4L * _groups * _pairs)),
        };
    }

    /// <summary>Token <paramref name="t"/> into lane <paramref name="lane"/> of the byte panel at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildBytePanelLane(byte* p, int t, int lane)
    {
        var act = _acts[t];
        var px = (int*)p + lane;
        var q = (int*)act.Q;
        for (var kq = 0; kq < _cols / 4; kq++) px[kq * _lanes] = q[kq];
        var dx = (float*)(p + _dxOffset) + lane;
        for (var b = 0; b < _groups; b++) dx[b * _lanes] = act.D[b];
        switch (_byteMins)
        {
            case ByteMins.Affine:
            {
                var sx = (float*)(p + _sxOffset) + lane;
                for (var b = 0; b < _groups; b++) sx[b * _lanes] = act.S[b];
                break;
            }
            case ByteMins.Offset:
            {
                var ox = (int*)(p + _oxOffset) + lane;
                for (var b = 0; b < _groups; b++) ox[b * _lanes] = -_offset * act.Sum[b];
                break;
            }
            case ByteMins.KMins:
            {
                var bx = (int*)(p + _bxOffset) + lane;
                var bs = act.BSums;
                for (var b = 0; b < _groups; b++)
                    for (var j = 0; j < 4; j++)
                    {
                        var s0 = bs[16 * b + 4 * j] + bs[16 * b + 4 * j + 1];     // sub-block 2j
                        var s1 = bs[16 * b + 4 * j + 2] + bs[16 * b + 4 * j + 3]; // sub-block 2j+1
                        bx[(4 * b + j) * _lanes] = (ushort)(short)s0 | (s1 << 16);
                    }
                break;
            }
            case ByteMins.Q6Offset:
            {
                var bx = (int*)(p + _bxOffset) + lane;
                var bs = act.BSums;
                for (var b = 0; b < _groups; b++)
                    for (var j = 0; j < 8; j++)
                        bx[(8 * b + j) * _lanes] = (ushort)bs[16 * b + 2 * j] | (bs[16 * b + 2 * j + 1] << 16);
                break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ExecuteBytes(int r0, int count, byte* scratch)
    {
        for (var i = 0; i < count; i++) ByteUnpack.Unpack(_type, _w + (r0 + i) * _rowBytes, _cols, ByteRowAt(scratch, i));
        var rows = stackalloc ByteRow[R];
        var block = stackalloc float[RowBlock * 32]; // [row][token lane] of one token-group pass
        var laneAcc = stackalloc float[8 * 8 * 16];  // the eight-lane kernels' float accumulators
        var pairs = _path == KernelPath.Avx512 ? 2 : 1;
        var q4k = _type == GgmlType.Q4_K;
        var lanes = LaneOrder;
        for (var tg = 0; tg < _tokenGroups; tg += pairs)
        {
            var panel = _panel + tg * _panelGroupBytes;
            for (var rt = 0; rt < count; rt += R)
            {
                // A short last tile repeats its last row; its results land past count and are not stored.
                for (var i = 0; i < R; i++) rows[i] = ByteRowAt(scratch, Math.Min(rt + i, count - 1));
                if (_path == KernelPath.Avx512)
                {
                    if (q4k) MicroQ4K512(rows, panel, block + rt * 32);
                    else if (lanes) MicroLane512(rows, panel, block + rt * 32, laneAcc);
                    else MicroB512(rows, panel, block + rt * 32);
                }
                else
                {
                    if (q4k) MicroQ4K256(rows, panel, block + rt * 32);
                    else if (lanes) MicroLane256(rows, panel, block + rt * 32, laneAcc);
                    else MicroB256(rows, panel, block + rt * 32);
                }
            }
            StoreBlock(block, r0, count, tg, pairs * _lanes);
        }
    }

    /// <summary>4 rows × 2 token groups of 16: out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroB512(ByteRow* rows, byte* panel, float* out_)
    {
        const int L = 16;
        var px0 = (int*)panel;
        var px1 = (int*)(panel + _panelGroupBytes);
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        var steps = _steps;
        var chunks = _groupSize / (4 * steps);
        Vector512<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        var kq = 0;
        var ch = 0;
        for (var g = 0; g < _groups; g++)
        {
            Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            if (_byteMins == ByteMins.Offset)
            {
                // −o·Σx is the same for every row: it seeds the accumulators.
                a00 = a10 = a20 = a30 = Vector512.Load((int*)(panel + _oxOffset) + g * L);
                a01 = a11 = a21 = a31 = Vector512.Load((int*)(panel + _panelGroupBytes + _oxOffset) + g * L);
            }
            for (var c = 0; c < chunks; c++, ch++)
            {
                Vector512<short> h00 = default, h01 = default, h10 = default, h11 = default, h20 = default, h21 = default, h30 = default, h31 = default;
                var kEnd = kq + steps;
                for (; kq < kEnd; kq++)
                {
                    var x0 = Vector512.Load(px0 + kq * L).AsSByte();
                    var x1 = Vector512.Load(px1 + kq * L).AsSByte();
                    var b = Vector512.Create(*(int*)(w0 + 4 * kq)).AsByte();
                    h00 += Avx512BW.MultiplyAddAdjacent(b, x0); h01 += Avx512BW.MultiplyAddAdjacent(b, x1);
                    b = Vector512.Create(*(int*)(w1 + 4 * kq)).AsByte();
                    h10 += Avx512BW.MultiplyAddAdjacent(b, x0); h11 += Avx512BW.MultiplyAddAdjacent(b, x1);
                    b = Vector512.Create(*(int*)(w2 + 4 * kq)).AsByte();
                    h20 += Avx512BW.MultiplyAddAdjacent(b, x0); h21 += Avx512BW.MultiplyAddAdjacent(b, x1);
                    b = Vector512.Create(*(int*)(w3 + 4 * kq)).AsByte();
                    h30 += Avx512BW.MultiplyAddAdjacent(b, x0); h31 += Avx512BW.MultiplyAddAdjacent(b, x1);
                }
                var s = Vector512.Create(c0[ch]).AsInt16();
                a00 += Avx512BW.MultiplyAddAdjacent(h00, s); a01 += Avx512BW.MultiplyAddAdjacent(h01, s);
                s = Vector512.Create(c1[ch]).AsInt16();
                a10 += Avx512BW.MultiplyAddAdjacent(h10, s); a11 += Avx512BW.MultiplyAddAdjacent(h11, s);
                s = Vector512.Create(c2[ch]).AsInt16();
                a20 += Avx512BW.MultiplyAddAdjacent(h20, s); a21 += Avx512BW.MultiplyAddAdjacent(h21, s);
                s = Vector512.Create(c3[ch]).AsInt16();
                a30 += Avx512BW.MultiplyAddAdjacent(h30, s); a31 += Avx512BW.MultiplyAddAdjacent(h31, s);
            }
            var dx0 = Vector512.Load((float*)(panel + _dxOffset) + g * L);
            var dx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _dxOffset) + g * L);
            switch (_byteMins)
            {
                case ByteMins.Affine:
                {
                    var sx0 = Vector512.Load((float*)(panel + _sxOffset) + g * L);
                    var sx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _sxOffset) + g * L);
                    Affine512(rows[0].Mw[g], sx0, sx1, ref f00, ref f01);
                    Affine512(rows[1].Mw[g], sx0, sx1, ref f10, ref f11);
                    Affine512(rows[2].Mw[g], sx0, sx1, ref f20, ref f21);
                    Affine512(rows[3].Mw[g], sx0, sx1, ref f30, ref f31);
                    break;
                }
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

    /// <summary>4 rows × 1 token group of 8 (AVX2): out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroB256(ByteRow* rows, byte* panel, float* out_)
    {
        const int L = 8;
        var px = (int*)panel;
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        var steps = _steps;
        var chunks = _groupSize / (4 * steps);
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        var kq = 0;
        var ch = 0;
        for (var g = 0; g < _groups; g++)
        {
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            if (_byteMins == ByteMins.Offset) a0 = a1 = a2 = a3 = Avx.LoadVector256((int*)(panel + _oxOffset) + g * L);
            for (var c = 0; c < chunks; c++, ch++)
            {
                Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default;
                var kEnd = kq + steps;
                for (; kq < kEnd; kq++)
                {
                    var x = Avx.LoadVector256(px + kq * L).AsSByte();
                    h0 = Avx2.Add(h0, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w0 + 4 * kq)).AsByte(), x));
                    h1 = Avx2.Add(h1, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w1 + 4 * kq)).AsByte(), x));
                    h2 = Avx2.Add(h2, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w2 + 4 * kq)).AsByte(), x));
                    h3 = Avx2.Add(h3, Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w3 + 4 * kq)).AsByte(), x));
                }
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(h0, Vector256.Create(c0[ch]).AsInt16()));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(h1, Vector256.Create(c1[ch]).AsInt16()));
                a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(h2, Vector256.Create(c2[ch]).AsInt16()));
                a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(h3, Vector256.Create(c3[ch]).AsInt16()));
            }
            var dx = Avx.LoadVector256((float*)(panel + _dxOffset) + g * L);
            switch (_byteMins)
            {
                case ByteMins.Affine:
                {
                    var sx = Avx.LoadVector256((float*)(panel + _sxOffset) + g * L);
                    f0 = Fma.MultiplyAdd(sx, Vector256.Create(rows[0].Mw[g]), f0);
                    f1 = Fma.MultiplyAdd(sx, Vector256.Create(rows[1].Mw[g]), f1);
                    f2 = Fma.MultiplyAdd(sx, Vector256.Create(rows[2].Mw[g]), f2);
                    f3 = Fma.MultiplyAdd(sx, Vector256.Create(rows[3].Mw[g]), f3);
                    break;
                }
            }
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a0), dx * Vector256.Create(rows[0].Dw[g]), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a1), dx * Vector256.Create(rows[1].Dw[g]), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a2), dx * Vector256.Create(rows[2].Dw[g]), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a3), dx * Vector256.Create(rows[3].Dw[g]), f3);
        }
        f0.Store(out_); f1.Store(out_ + 32); f2.Store(out_ + 64); f3.Store(out_ + 96);
    }
}
