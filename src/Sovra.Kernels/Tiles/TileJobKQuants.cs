using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;

namespace Sovra.Kernels.Tiles;

/// <summary>
/// The byte tile's K-quant kernels, in the float order of llama.cpp's x86 CPU backend so that a prompt gives the
/// same bits as llama.cpp's:
/// <list type="bullet">
/// <item>Q4_K (repacked by llama.cpp, multiplied by its GEMM for each full group of four tokens): per 64-value pair
/// of sub-blocks the exact integer Σ sc·q·x goes into <c>acc = fma(isum, dx·d, acc)</c> and the pair's Σ m·bsum
/// into <c>accm = fma(imin, dx·dmin, accm)</c>; the result is acc − accm.</item>
/// <item>Q5_K and Q6_K (ggml's vec_dot for every batch size): eight int32 "lanes" per output, lane l holding the
/// products of values 4l..4l+3 of every 32 (a lane class: panel steps kq ≡ l mod 8), each super-block's lane
/// sums fma'd into eight float accumulators (<c>acc_l = fma(lane_l, dx·d, acc_l)</c>) and summed at the end as
/// ggml's <c>hsum_float_8</c>; Q6_K takes lane l's share of its −32 offset out of lane l
/// (32·(sc[2l]·bsum[2l] + sc[2l+1]·bsum[2l+1])), Q5_K adds its mins as one fma chain
/// <c>accm = fma(Σ m·bsum, −dx·dmin, accm)</c> after the sum.</item>
/// </list>
/// A lane class cannot share int16 sums across steps (each step has its own lane), so each step is one
/// <c>vpmaddubsw</c> and one <c>vpmaddwd</c> with the step's scale pair (<see cref="ByteRow.Sc"/> per step).
/// </summary>
internal sealed unsafe partial class TileJob
{
    /// <summary>Q5_K and Q6_K: ggml's eight-lane order (see the class comment).</summary>
    private bool LaneOrder => _type is GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Q4_K, 4 rows × 2 token groups of 16: out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroQ4K512(ByteRow* rows, byte* panel, float* out_)
    {
        const int L = 16;
        var px0 = (int*)panel;
        var px1 = (int*)(panel + _panelGroupBytes);
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        Vector512<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        var kq = 0;
        var ch = 0;
        for (var g = 0; g < _groups; g++)
        {
            var dx0 = Vector512.Load((float*)(panel + _dxOffset) + g * L);
            var dx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _dxOffset) + g * L);
            for (var sb = 0; sb < 4; sb++)
            {
                Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                for (var c = 0; c < 2; c++, ch++)
                {
                    Vector512<short> h00 = default, h01 = default, h10 = default, h11 = default, h20 = default, h21 = default, h30 = default, h31 = default;
                    var kEnd = kq + 8;
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
                Acc512(a00, a01, dx0, dx1, rows[0].Dw[g], ref f00, ref f01);
                Acc512(a10, a11, dx0, dx1, rows[1].Dw[g], ref f10, ref f11);
                Acc512(a20, a21, dx0, dx1, rows[2].Dw[g], ref f20, ref f21);
                Acc512(a30, a31, dx0, dx1, rows[3].Dw[g], ref f30, ref f31);
            }
        }
        f00.Store(out_); f01.Store(out_ + 16);
        f10.Store(out_ + 32); f11.Store(out_ + 48);
        f20.Store(out_ + 64); f21.Store(out_ + 80);
        f30.Store(out_ + 96); f31.Store(out_ + 112);
        for (var r = 0; r < R; r++)
            for (var tz = 0; tz < 2; tz++)
                MinsB512(rows[r], panel + tz * _panelGroupBytes, out_ + 32 * r + 16 * tz, perPair: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc512(Vector512<int> a0, Vector512<int> a1, Vector512<float> dx0, Vector512<float> dx1, float dw,
        ref Vector512<float> f0, ref Vector512<float> f1)
    {
        var d = Vector512.Create(dw);
        f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a0), dx0 * d, f0);
        f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a1), dx1 * d, f1);
    }

    /// <summary>
    /// The mins of one row against one token group, added to <paramref name="out_"/>: Q4_K (<paramref name="perPair"/>)
    /// subtracts Σ over pairs of sub-blocks of fma(m·bsum, dx·dmin); Q5_K adds one fma(Σ m·bsum, −dx·dmin) per super-block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MinsB512(in ByteRow row, byte* panel, float* out_, bool perPair)
    {
        const int L = 16;
        Vector512<float> accm = default;
        for (var g = 0; g < _groups; g++)
        {
            var dx = Vector512.Load((float*)(panel + _dxOffset) + g * L);
            var bx = (int*)(panel + _bxOffset) + 4 * g * L;
            var ms = row.Ms + 4 * g;
            if (perPair)
            {
                var dm = dx * Vector512.Create(row.Mw[g]);
                for (var j = 0; j < 4; j++)
                {
                    var m = Avx512BW.MultiplyAddAdjacent(Vector512.Create(ms[j]).AsInt16(), Vector512.Load(bx + j * L).AsInt16());
                    accm = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(m), dm, accm);
                }
            }
            else
            {
                Vector512<int> m = default;
                for (var j = 0; j < 4; j++)
                    m += Avx512BW.MultiplyAddAdjacent(Vector512.Create(ms[j]).AsInt16(), Vector512.Load(bx + j * L).AsInt16());
                accm = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(m), dx * Vector512.Create(-row.Mw[g]), accm);
            }
        }
        var y = Vector512.Load(out_);
        (perPair ? y - accm : y + accm).Store(out_);
    }

    /// <summary>Q5_K / Q6_K, 4 rows × 2 token groups of 16, ggml's eight-lane order: out[row·32 + lane].
    /// <paramref name="acc"/>: 1024 floats of scratch, [lane class][row·2 + token group][16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroLane512(ByteRow* rows, byte* panel, float* out_, float* acc)
    {
        const int L = 16;
        var px0 = (int*)panel;
        var px1 = (int*)(panel + _panelGroupBytes);
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        var q6 = _byteMins == ByteMins.Q6Offset;
        new Span<float>(acc, 8 * 8 * L).Clear();
        for (var g = 0; g < _groups; g++)
        {
            var dx0 = Vector512.Load((float*)(panel + _dxOffset) + g * L);
            var dx1 = Vector512.Load((float*)(panel + _panelGroupBytes + _dxOffset) + g * L);
            for (var l = 0; l < 8; l++)
            {
                Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                for (var v = 0; v < 8; v++)
                {
                    var kq = 64 * g + 8 * v + l;
                    var x0 = Vector512.Load(px0 + kq * L).AsSByte();
                    var x1 = Vector512.Load(px1 + kq * L).AsSByte();
                    var b = Vector512.Create(*(int*)(w0 + 4 * kq)).AsByte();
                    var s = Vector512.Create(c0[kq]).AsInt16();
                    a00 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x0), s);
                    a01 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x1), s);
                    b = Vector512.Create(*(int*)(w1 + 4 * kq)).AsByte();
                    s = Vector512.Create(c1[kq]).AsInt16();
                    a10 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x0), s);
                    a11 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x1), s);
                    b = Vector512.Create(*(int*)(w2 + 4 * kq)).AsByte();
                    s = Vector512.Create(c2[kq]).AsInt16();
                    a20 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x0), s);
                    a21 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x1), s);
                    b = Vector512.Create(*(int*)(w3 + 4 * kq)).AsByte();
                    s = Vector512.Create(c3[kq]).AsInt16();
                    a30 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x0), s);
                    a31 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(b, x1), s);
                }
                if (q6)
                {
                    var bx0 = Vector512.Load((int*)(panel + _bxOffset) + (8 * g + l) * L).AsInt16();
                    var bx1 = Vector512.Load((int*)(panel + _panelGroupBytes + _bxOffset) + (8 * g + l) * L).AsInt16();
                    Q6Lane512(rows[0], g, l, bx0, bx1, ref a00, ref a01);
                    Q6Lane512(rows[1], g, l, bx0, bx1, ref a10, ref a11);
                    Q6Lane512(rows[2], g, l, bx0, bx1, ref a20, ref a21);
                    Q6Lane512(rows[3], g, l, bx0, bx1, ref a30, ref a31);
                }
                var f = acc + l * 8 * L;
                LaneAcc512(a00, a01, dx0, dx1, rows[0].Dw[g], f);
                LaneAcc512(a10, a11, dx0, dx1, rows[1].Dw[g], f + 2 * L);
                LaneAcc512(a20, a21, dx0, dx1, rows[2].Dw[g], f + 4 * L);
                LaneAcc512(a30, a31, dx0, dx1, rows[3].Dw[g], f + 6 * L);
            }
        }
        for (var k = 0; k < 8; k++)
        {
            var p = acc + k * L;
            // ggml's hsum_float_8 over the lane classes: (l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7).
            var even = (Vector512.Load(p) + Vector512.Load(p + 4 * 8 * L)) + (Vector512.Load(p + 2 * 8 * L) + Vector512.Load(p + 6 * 8 * L));
            var odd = (Vector512.Load(p + 8 * L) + Vector512.Load(p + 5 * 8 * L)) + (Vector512.Load(p + 3 * 8 * L) + Vector512.Load(p + 7 * 8 * L));
            (even + odd).Store(out_ + 16 * k);
        }
        if (!q6)
            for (var r = 0; r < R; r++)
                for (var tz = 0; tz < 2; tz++)
                    MinsB512(rows[r], panel + tz * _panelGroupBytes, out_ + 32 * r + 16 * tz, perPair: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Lane512(in ByteRow row, int g, int l, Vector512<short> bx0, Vector512<short> bx1, ref Vector512<int> a0, ref Vector512<int> a1)
    {
        var m = Vector512.Create(row.Ms[8 * g + l]).AsInt16();
        a0 -= Avx512BW.MultiplyAddAdjacent(m, bx0) << 5;
        a1 -= Avx512BW.MultiplyAddAdjacent(m, bx1) << 5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LaneAcc512(Vector512<int> a0, Vector512<int> a1, Vector512<float> dx0, Vector512<float> dx1, float dw, float* f)
    {
        var d = Vector512.Create(dw);
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a0), dx0 * d, Vector512.Load(f)).Store(f);
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(a1), dx1 * d, Vector512.Load(f + 16)).Store(f + 16);
    }

    /// <summary>Q4_K, 4 rows × 1 token group of 8 (AVX2): out[row·32 + lane].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroQ4K256(ByteRow* rows, byte* panel, float* out_)
    {
        const int L = 8;
        var px = (int*)panel;
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        var kq = 0;
        var ch = 0;
        for (var g = 0; g < _groups; g++)
        {
            var dx = Avx.LoadVector256((float*)(panel + _dxOffset) + g * L);
            for (var sb = 0; sb < 4; sb++)
            {
                Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var c = 0; c < 2; c++, ch++)
                {
                    Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default;
                    var kEnd = kq + 8;
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
                f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a0), dx * Vector256.Create(rows[0].Dw[g]), f0);
                f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a1), dx * Vector256.Create(rows[1].Dw[g]), f1);
                f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a2), dx * Vector256.Create(rows[2].Dw[g]), f2);
                f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a3), dx * Vector256.Create(rows[3].Dw[g]), f3);
            }
        }
        f0.Store(out_); f1.Store(out_ + 32); f2.Store(out_ + 64); f3.Store(out_ + 96);
        for (var r = 0; r < R; r++) MinsB256(rows[r], panel, out_ + 32 * r, perPair: true);
    }

    /// <summary>As <see cref="MinsB512"/> for one AVX2 token group of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MinsB256(in ByteRow row, byte* panel, float* out_, bool perPair)
    {
        const int L = 8;
        Vector256<float> accm = default;
        for (var g = 0; g < _groups; g++)
        {
            var dx = Avx.LoadVector256((float*)(panel + _dxOffset) + g * L);
            var bx = (int*)(panel + _bxOffset) + 4 * g * L;
            var ms = row.Ms + 4 * g;
            if (perPair)
            {
                var dm = dx * Vector256.Create(row.Mw[g]);
                for (var j = 0; j < 4; j++)
                {
                    var m = Avx2.MultiplyAddAdjacent(Vector256.Create(ms[j]).AsInt16(), Avx.LoadVector256(bx + j * L).AsInt16());
                    accm = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m), dm, accm);
                }
            }
            else
            {
                Vector256<int> m = default;
                for (var j = 0; j < 4; j++)
                    m = Avx2.Add(m, Avx2.MultiplyAddAdjacent(Vector256.Create(ms[j]).AsInt16(), Avx.LoadVector256(bx + j * L).AsInt16()));
                accm = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m), dx * Vector256.Create(-row.Mw[g]), accm);
            }
        }
        var y = Avx.LoadVector256(out_);
        (perPair ? Avx.Subtract(y, accm) : Avx.Add(y, accm)).Store(out_);
    }

    /// <summary>Q5_K / Q6_K, 4 rows × 1 token group of 8 (AVX2), ggml's eight-lane order: out[row·32 + lane].
    /// <paramref name="acc"/>: 256 floats of scratch, [lane class][row][8].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MicroLane256(ByteRow* rows, byte* panel, float* out_, float* acc)
    {
        const int L = 8;
        var px = (int*)panel;
        byte* w0 = rows[0].Wb, w1 = rows[1].Wb, w2 = rows[2].Wb, w3 = rows[3].Wb;
        int* c0 = rows[0].Sc, c1 = rows[1].Sc, c2 = rows[2].Sc, c3 = rows[3].Sc;
        var q6 = _byteMins == ByteMins.Q6Offset;
        new Span<float>(acc, 8 * 4 * L).Clear();
        for (var g = 0; g < _groups; g++)
        {
            var dx = Avx.LoadVector256((float*)(panel + _dxOffset) + g * L);
            for (var l = 0; l < 8; l++)
            {
                Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var v = 0; v < 8; v++)
                {
                    var kq = 64 * g + 8 * v + l;
                    var x = Avx.LoadVector256(px + kq * L).AsSByte();
                    a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w0 + 4 * kq)).AsByte(), x), Vector256.Create(c0[kq]).AsInt16()));
                    a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w1 + 4 * kq)).AsByte(), x), Vector256.Create(c1[kq]).AsInt16()));
                    a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w2 + 4 * kq)).AsByte(), x), Vector256.Create(c2[kq]).AsInt16()));
                    a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create(*(int*)(w3 + 4 * kq)).AsByte(), x), Vector256.Create(c3[kq]).AsInt16()));
                }
                if (q6)
                {
                    var bx = Avx.LoadVector256((int*)(panel + _bxOffset) + (8 * g + l) * L).AsInt16();
                    a0 = Avx2.Subtract(a0, Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Vector256.Create(rows[0].Ms[8 * g + l]).AsInt16(), bx), 5));
                    a1 = Avx2.Subtract(a1, Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Vector256.Create(rows[1].Ms[8 * g + l]).AsInt16(), bx), 5));
                    a2 = Avx2.Subtract(a2, Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Vector256.Create(rows[2].Ms[8 * g + l]).AsInt16(), bx), 5));
                    a3 = Avx2.Subtract(a3, Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Vector256.Create(rows[3].Ms[8 * g + l]).AsInt16(), bx), 5));
                }
                var f = acc + l * 4 * L;
                Fma.MultiplyAdd(Avx.ConvertToVector256Single(a0), dx * Vector256.Create(rows[0].Dw[g]), Avx.LoadVector256(f)).Store(f);
                Fma.MultiplyAdd(Avx.ConvertToVector256Single(a1), dx * Vector256.Create(rows[1].Dw[g]), Avx.LoadVector256(f + L)).Store(f + L);
                Fma.MultiplyAdd(Avx.ConvertToVector256Single(a2), dx * Vector256.Create(rows[2].Dw[g]), Avx.LoadVector256(f + 2 * L)).Store(f + 2 * L);
                Fma.MultiplyAdd(Avx.ConvertToVector256Single(a3), dx * Vector256.Create(rows[3].Dw[g]), Avx.LoadVector256(f + 3 * L)).Store(f + 3 * L);
            }
        }
        for (var r = 0; r < R; r++)
        {
            var p = acc + r * L;
            var even = (Avx.LoadVector256(p) + Avx.LoadVector256(p + 4 * 4 * L)) + (Avx.LoadVector256(p + 2 * 4 * L) + Avx.LoadVector256(p + 6 * 4 * L));
            var odd = (Avx.LoadVector256(p + 4 * L) + Avx.LoadVector256(p + 5 * 4 * L)) + (Avx.LoadVector256(p + 3 * 4 * L) + Avx.LoadVector256(p + 7 * 4 * L));
            (even + odd).Store(out_ + 32 * r);
            if (!q6) MinsB256(rows[r], panel, out_ + 32 * r, perPair: false);
        }
    }
}
