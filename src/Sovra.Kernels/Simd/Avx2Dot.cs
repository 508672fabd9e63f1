using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Simd;

/// <summary>
/// AVX2 + FMA row dot products (one weight row against one activation row), the decode path. Integer formats
/// use vpmaddubsw/vpmaddwd; signed·signed products use ggml's |w|·sign(x, w) trick so maddubs never saturates.
/// </summary>
internal static unsafe class Avx2Dot
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotI8(Vector256<sbyte> w, Vector256<sbyte> x) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(x, w)), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotU8(Vector256<byte> w, Vector256<sbyte> x, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, x), scale);

    /// <summary>16 packed bytes → 32 nibbles: low nibbles first (values 0..15), then high nibbles (16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Nibbles(byte* qs)
    {
        var q = Sse2.LoadVector128(qs);
        var both = Vector256.Create(q, Sse2.ShiftRightLogical(q.AsUInt16(), 4).AsByte());
        return Avx2.And(both, Vector256.Create((byte)0x0F));
    }

    /// <summary>0xFF in byte j where bit j of <paramref name="bits"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> BitsToBytes(uint bits)
    {
        var spread = Avx2.Shuffle(Vector256.Create(bits).AsByte(),
            Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var probe = Avx2.Or(spread, Vector256.Create(0x7fbfdfeff7fbfdfeUL).AsByte());
        return Avx2.CompareEqual(probe, Vector256<byte>.AllBitsSet);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(byte* w, in ActRow a, int n)
    {
        var p = (float*)w;
        var x = a.F;
        Vector256<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 16 <= n; i += 16)
        {
            s0 = Fma.MultiplyAdd(Avx.LoadVector256(p + i), Avx.LoadVector256(x + i), s0);
            s1 = Fma.MultiplyAdd(Avx.LoadVector256(p + i + 8), Avx.LoadVector256(x + i + 8), s1);
        }
        for (; i + 8 <= n; i += 8) s0 = Fma.MultiplyAdd(Avx.LoadVector256(p + i), Avx.LoadVector256(x + i), s0);
        var s = Vector256.Sum(s0 + s1);
        for (; i < n; i++) s += p[i] * x[i];
        return s;
    }

    /// <summary>Eight IEEE halves → floats, exact for every input (zero, subnormal, inf, NaN included).</summary>
    /// <remarks>As <see cref="Avx512Dot.HalfToFloat"/>: sign-extend, shift by 13, mask, × 2^112, fix exponent 31.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToFloat(Vector128<ushort> h)
    {
        var t = Avx2.And(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(h.AsInt16()), 13), Vector256.Create(unchecked((int)0x8fffe000)));
        var f = Avx.Multiply(t.AsSingle(), Vector256.Create(0x77800000).AsSingle()); // 2^112
        var exp = Vector256.Create(0x0f800000);
        var special = Avx2.CompareEqual(Avx2.And(t, exp), exp);
        return Avx.BlendVariable(f, Avx2.Or(t, Vector256.Create(0x7f800000)).AsSingle(), special.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FiniteHalfToFloat(Vector128<ushort> h) =>
        Avx.Multiply(Avx2.And(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(h.AsInt16()), 13), Vector256.Create(unchecked((int)0x8fffe000))).AsSingle(),
            Vector256.Create(0x77800000).AsSingle());

    /// <remarks>As <see cref="Avx512Dot.F16"/>: finite-only decode in the main loop, an exact redo for a row
    /// with an infinity or NaN.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        var x = a.F;
        Vector256<float> s0 = default, s1 = default;
        Vector256<ushort> top = default;
        var i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var h = Avx.LoadVector256(p + i);
            top = Avx2.Max(top, Avx2.Add(h, h));
            s0 = Fma.MultiplyAdd(FiniteHalfToFloat(Sse2.LoadVector128(p + i)), Avx.LoadVector256(x + i), s0);
            s1 = Fma.MultiplyAdd(FiniteHalfToFloat(Sse2.LoadVector128(p + i + 8)), Avx.LoadVector256(x + i + 8), s1);
        }
        return Vector256.GreaterThanOrEqualAny(top, Vector256.Create((ushort)0xf800)) ? F16Exact(p, x, n) : F16Tail(p, x, i, n, s0, s1);
    }

    private static float F16Exact(ushort* p, float* x, int n)
    {
        Vector256<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 16 <= n; i += 16)
        {
            s0 = Fma.MultiplyAdd(HalfToFloat(Sse2.LoadVector128(p + i)), Avx.LoadVector256(x + i), s0);
            s1 = Fma.MultiplyAdd(HalfToFloat(Sse2.LoadVector128(p + i + 8)), Avx.LoadVector256(x + i + 8), s1);
        }
        return F16Tail(p, x, i, n, s0, s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float F16Tail(ushort* p, float* x, int i, int n, Vector256<float> s0, Vector256<float> s1)
    {
        for (; i + 8 <= n; i += 8) s0 = Fma.MultiplyAdd(HalfToFloat(Sse2.LoadVector128(p + i)), Avx.LoadVector256(x + i), s0);
        var s = Vector256.Sum(s0 + s1);
        for (; i < n; i++) s += Fp.HalfTable[p[i]] * x[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Bf16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        var x = a.F;
        Vector256<float> s0 = default;
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var f = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.LoadVector128(p + i)), 16).AsSingle();
            s0 = Fma.MultiplyAdd(f, Avx.LoadVector256(x + i), s0);
        }
        var s = Vector256.Sum(s0);
        for (; i < n; i++) s += Fp.Bf16ToFloat(p[i]) * x[i];
        return s;
    }

    /// <summary>The eight lanes summed in ggml's order (hsum_float_8): (l0+l4 + l2+l6) + (l1+l5 + l3+l7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float GgmlSum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        s += Sse.MoveHighToLow(s, s);
        return s.ToScalar() + s.GetElement(1);
    }

    /// <remarks>ggml's order exactly (its AVX2 ggml_vec_dot_q8_0_q8_0 and llamafile's Q8_0 sgemm, which llama.cpp
    /// uses for every batch size): lane l of block b is the exact int sum of values 4l..4l+3, each lane
    /// accumulates fma(d_w·d_x, sum, acc) block after block, then <see cref="GgmlSum"/>. A Q8_0 model's greedy
    /// path flips on last-bit differences (the activations are re-quantized at every layer), so this is the
    /// one kernel both the AVX-512 and AVX2 paths use.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        for (var b = 0; b < nb; b++, w += Q8_0Block.Bytes)
        {
            var p = DotI8(Avx.LoadVector256((sbyte*)(w + 2)), Avx.LoadVector256(a.Q + 32 * b));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), Vector256.Create(Fp.LoadHalf(w) * a.D[b]), acc);
        }
        return GgmlSum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <remarks>Σ(q−8)·x = Σq·x − 8·Σx: the nibbles go into vpmaddubsw unsigned and the −8 is applied per block
    /// from the activation sums, two blocks per iteration on two accumulators.</remarks>
    public static float Q4_0(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc0 = default, acc1 = default;
        var corr = 0f;
        sbyte* xq = a.Q;
        float* xd = a.D;
        int* xs = a.Sum;
        var b = 0;
        for (; b + 2 <= nb; b += 2, w += 2 * Q4_0Block.Bytes)
        {
            var s0 = Fp.LoadHalf(w) * xd[b];
            var s1 = Fp.LoadHalf(w + Q4_0Block.Bytes) * xd[b + 1];
            var p0 = DotU8(Nibbles(w + 2), Avx.LoadVector256(xq + 32 * b), Vector256<short>.One);
            var p1 = DotU8(Nibbles(w + Q4_0Block.Bytes + 2), Avx.LoadVector256(xq + 32 * b + 32), Vector256<short>.One);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p0), Vector256.Create(s0), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p1), Vector256.Create(s1), acc1);
            corr += s0 * xs[b] + s1 * xs[b + 1];
        }
        for (; b < nb; b++, w += Q4_0Block.Bytes)
        {
            var s0 = Fp.LoadHalf(w) * xd[b];
            var p0 = DotU8(Nibbles(w + 2), Avx.LoadVector256(xq + 32 * b), Vector256<short>.One);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p0), Vector256.Create(s0), acc0);
            corr += s0 * xs[b];
        }
        return Vector256.Sum(acc0 + acc1) - 8 * corr;
    }

    public static float Q4_1(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        var mins = 0f;
        for (var b = 0; b < nb; b++, w += Q4_1Block.Bytes)
        {
            var p = DotU8(Nibbles(w + 4), Avx.LoadVector256(a.Q + 32 * b), Vector256<short>.One);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), Vector256.Create(Fp.LoadHalf(w) * a.D[b]), acc);
            mins += Fp.LoadHalf(w + 2) * a.S[b];
        }
        return Vector256.Sum(acc) + mins;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_0(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        for (var b = 0; b < nb; b++, w += Q5_0Block.Bytes)
        {
            // q | 0xF0 where the fifth bit is clear is q − 16 as int8; where it is set, q + 16 − 16 = q.
            var high = Avx2.AndNot(BitsToBytes(*(uint*)(w + 2)), Vector256.Create((byte)0xF0));
            var q = Avx2.Or(Nibbles(w + 6), high).AsSByte();
            var p = DotI8(q, Avx.LoadVector256(a.Q + 32 * b));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), Vector256.Create(Fp.LoadHalf(w) * a.D[b]), acc);
        }
        return GgmlSum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_1(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        var mins = 0f;
        for (var b = 0; b < nb; b++, w += Q5_1Block.Bytes)
        {
            var high = Avx2.And(BitsToBytes(*(uint*)(w + 4)), Vector256.Create((byte)0x10));
            var q = Avx2.Or(Nibbles(w + 8), high);
            var p = DotU8(q, Avx.LoadVector256(a.Q + 32 * b), Vector256<short>.One);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), Vector256.Create(Fp.LoadHalf(w) * a.D[b]), acc);
            mins += Fp.LoadHalf(w + 2) * a.S[b];
        }
        return Vector256.Sum(acc) + mins;
    }

    /// <summary>Σ m_j·(bs[2j] + bs[2j+1]) for eight unpacked mins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int KMinsUnpacked(ulong m, short* bs) => Vector256.Sum(KMinsVector(m, bs));

    /// <summary>m_j·(bs[2j] + bs[2j+1]) in lane j: (m0,m0,m1,m1,...) · bs as one vpmaddwd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> KMinsVector(ulong m, short* bs)
    {
        var mins = Vector128.CreateScalarUnsafe(m).AsByte();
        var m16 = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(mins, mins));
        return Avx2.MultiplyAddAdjacent(m16, Avx.LoadVector256(bs));
    }

    /// <summary>Σ sc·q·x of sub-blocks 2c and 2c+1 of a Q4_K block as eight int32 lanes (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4_KPair(byte* w, sbyte* x, ulong scales, int c)
    {
        var mask = Vector256.Create((byte)0x0F);
        int sc1 = (int)(scales >> (16 * c)) & 0xFF, sc2 = (int)(scales >> (16 * c + 8)) & 0xFF;
        var q = Avx.LoadVector256(w + 16 + 32 * c);
        var lo = Avx2.And(q, mask);
        var hi = Avx2.And(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(), mask);
        return Avx2.Add(DotU8(lo, Avx.LoadVector256(x + 64 * c), Vector256.Create((short)sc1)),
            DotU8(hi, Avx.LoadVector256(x + 64 * c + 32), Vector256.Create((short)sc2)));
    }

    /// <remarks>The order of <see cref="Q4_KBlock.Dot"/> (ggml's GEMV over repacked Q4_K): per super-block the
    /// exact integer sums, one fma each into a scalar accumulator for the scales and one for the mins.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_K(byte* w, in ActRow a, int nb)
    {
        float acc = 0, accm = 0;
        sbyte* xq = a.Q;
        short* xb = a.BSums;
        for (var b = 0; b < nb; b++, w += Q4_KBlock.Bytes)
        {
            var x = xq + 256 * b;
            KScales.Unpack(w + 4, out var scales, out var mn);
            var isum = Avx2.Add(Avx2.Add(Q4_KPair(w, x, scales, 0), Q4_KPair(w, x, scales, 1)),
                Avx2.Add(Q4_KPair(w, x, scales, 2), Q4_KPair(w, x, scales, 3)));
            var dx = a.D[b];
            acc = MathF.FusedMultiplyAdd(Vector256.Sum(isum), Fp.LoadHalf(w) * dx, acc);
            accm = MathF.FusedMultiplyAdd(KMinsUnpacked(mn, xb + 16 * b), Fp.LoadHalf(w + 2) * dx, accm);
        }
        return acc - accm;
    }

    /// <remarks>The order of <see cref="Q4_KBlock.DotQuad"/> (ggml's GEMM over repacked Q4_K): as
    /// <see cref="Q4_K"/> with the two accumulations per 64-value pair of sub-blocks.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_KQuad(byte* w, in ActRow a, int nb)
    {
        float acc = 0, accm = 0;
        sbyte* xq = a.Q;
        short* xb = a.BSums;
        for (var b = 0; b < nb; b++, w += Q4_KBlock.Bytes)
        {
            var x = xq + 256 * b;
            KScales.Unpack(w + 4, out var scales, out var mn);
            var mins = KMinsVector(mn, xb + 16 * b); // lane j: m_j·(sum of sub-block j)
            var dx = a.D[b];
            float dd = Fp.LoadHalf(w) * dx, dm = Fp.LoadHalf(w + 2) * dx;
            for (var c = 0; c < 4; c++)
            {
                acc = MathF.FusedMultiplyAdd(Vector256.Sum(Q4_KPair(w, x, scales, c)), dd, acc);
                accm = MathF.FusedMultiplyAdd(mins.GetElement(2 * c) + mins.GetElement(2 * c + 1), dm, accm);
            }
        }
        return acc - accm;
    }

    /// <remarks>The order of <see cref="Q5_KBlock.Dot"/> (ggml's AVX2 <c>ggml_vec_dot_q5_K_q8_K</c>): lane l of
    /// the int32 sums takes values 4l..4l+3 of every 32, one fma per super-block into eight float lanes, the mins
    /// into one scalar fma chain, <see cref="GgmlSum"/> at the end.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_K(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        var accm = 0f;
        var mask = Vector256.Create((byte)0x0F);
        var bit = Vector256.Create((ushort)0x0101);
        for (var b = 0; b < nb; b++, w += Q5_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            var qh = Avx.LoadVector256(w + 16).AsUInt16();
            KScales.Unpack(w + 4, out var scales, out var mn);
            Vector256<int> isum = default;
            for (var c = 0; c < 4; c++)
            {
                int sc1 = (int)(scales >> (16 * c)) & 0xFF, sc2 = (int)(scales >> (16 * c + 8)) & 0xFF;
                var q = Avx.LoadVector256(w + 48 + 32 * c);
                var h1 = Avx2.ShiftLeftLogical(Avx2.And(Vector256.ShiftRightLogical(qh, 2 * c), bit), 4).AsByte();
                var h2 = Avx2.ShiftLeftLogical(Avx2.And(Vector256.ShiftRightLogical(qh, 2 * c + 1), bit), 4).AsByte();
                var lo = Avx2.Or(Avx2.And(q, mask), h1);
                var hi = Avx2.Or(Avx2.And(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(), mask), h2);
                isum = Avx2.Add(isum, DotU8(lo, Avx.LoadVector256(x + 64 * c), Vector256.Create((short)sc1)));
                isum = Avx2.Add(isum, DotU8(hi, Avx.LoadVector256(x + 64 * c + 32), Vector256.Create((short)sc2)));
            }
            var dx = a.D[b];
            accm = MathF.FusedMultiplyAdd(KMinsUnpacked(mn, a.BSums + 16 * b), -dx * Fp.LoadHalf(w + 2), accm);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(dx * Fp.LoadHalf(w)), acc);
        }
        return GgmlSum(acc) + accm;
    }

    /// <summary>Lane l: 32·(sc[2l]·bsum[2l] + sc[2l+1]·bsum[2l+1]), the −32 offset of Q6_K as ggml's
    /// <c>ggml_vec_dot_q6_K_q8_K</c> takes it out of its eight int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Q6OffsetLanes(sbyte* sc, short* bs)
    {
        var s16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(sc));
        return Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(s16, Avx.LoadVector256(bs)), 5);
    }

    /// <remarks>The order of <see cref="Q6_KBlock.Dot"/> (ggml's AVX2 <c>ggml_vec_dot_q6_K_q8_K</c>): lane l of the
    /// int32 sums takes values 4l..4l+3 of every 32 less its share of the offset
    /// (<see cref="Q6OffsetLanes"/>), one fma per super-block into eight float lanes, <see cref="GgmlSum"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        var mask = Vector256.Create((byte)0x0F);
        var two = Vector256.Create((byte)0x03);
        for (var b = 0; b < nb; b++, w += Q6_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            var sc = (sbyte*)(w + 192);
            Vector256<int> isum = default;
            for (var h = 0; h < 2; h++)
            {
                var qlA = Avx.LoadVector256(w + 64 * h);
                var qlB = Avx.LoadVector256(w + 64 * h + 32);
                var qh = Avx.LoadVector256(w + 128 + 32 * h);
                for (var k = 0; k < 4; k++)
                {
                    var ql = (k & 1) == 0 ? qlA : qlB;
                    var low = k < 2 ? Avx2.And(ql, mask) : Avx2.And(Avx2.ShiftRightLogical(ql.AsUInt16(), 4).AsByte(), mask);
                    var high = Avx2.And(Vector256.ShiftRightLogical(qh.AsUInt16(), 2 * k).AsByte(), two);
                    var q = Avx2.Or(low, Avx2.ShiftLeftLogical(high.AsUInt16(), 4).AsByte());
                    var g = 8 * h + 2 * k;
                    var scale = Vector256.Create(Vector128.Create((short)sc[g]), Vector128.Create((short)sc[g + 1]));
                    isum = Avx2.Add(isum, DotU8(q, Avx.LoadVector256(x + 128 * h + 32 * k), scale));
                }
            }
            isum = Avx2.Subtract(isum, Q6OffsetLanes(sc, a.BSums + 16 * b));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(a.D[b] * Fp.LoadHalf(w + 208)), acc);
        }
        return GgmlSum(acc);
    }
}
