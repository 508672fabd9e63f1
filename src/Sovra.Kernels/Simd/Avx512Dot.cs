using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Simd;

/// <summary>
/// AVX-512 (F + BW) row dot products, two 32-blocks or one K-quant chunk pair per 512-bit register.
/// .NET 10 exposes no 512-bit VNNI (only AVX10 / AVX-VNNI), so int8 products go through vpmaddubsw + vpmaddwd.
/// Formats without an entry here use the AVX2 kernels, which are valid on every AVX-512 CPU.
/// </summary>
internal static unsafe class Avx512Dot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> DotI8(Vector512<sbyte> w, Vector512<sbyte> x)
    {
        var sx = Vector512.ConditionalSelect(Vector512.LessThan(w, Vector512<sbyte>.Zero), Vector512<sbyte>.Zero - x, x);
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(w), sx), Vector512<short>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scales2(float s0, float s1) => Join(Vector256.Create(s0), Vector256.Create(s1));

    /// <summary>[lo, hi] without the false dependency on the previous iteration's register that Vector512.Create(lo, hi) compiles to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Join<T>(Vector256<T> lo, Vector256<T> hi) =>
        Avx512F.InsertVector256(lo.AsUInt64().ToVector512Unsafe(), hi.AsUInt64(), 1).As<ulong, T>();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(byte* w, in ActRow a, int n)
    {
        var p = (float*)w;
        Vector512<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 32 <= n; i += 32)
        {
            s0 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + i), Vector512.Load(a.F + i), s0);
            s1 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + i + 16), Vector512.Load(a.F + i + 16), s1);
        }
        for (; i + 16 <= n; i += 16) s0 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + i), Vector512.Load(a.F + i), s0);
        var s = Vector512.Sum(s0 + s1);
        for (; i < n; i++) s += p[i] * a.F[i];
        return s;
    }

    /// <summary>Sixteen IEEE halves → floats, exact for every input.</summary>
    /// <remarks>Sign-extended and shifted by 13, the half's sign lands on bit 31 and its 15 magnitude bits in
    /// float position (the sign copies above them are masked off); × 2^112 then gives the exact value for normal
    /// and subnormal halves alike, with the sign. Exponent 31 (inf, NaN) gets the float's all-ones exponent.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToFloat(Vector256<ushort> h)
    {
        var t = (Avx512F.ConvertToVector512Int32(h.AsInt16()).AsUInt32() << 13) & Vector512.Create(0x8fffe000u);
        var f = t.AsSingle() * Vector512.Create(0x77800000u).AsSingle(); // 2^112
        var exp = Vector512.Create(0x0f800000u);
        var special = Vector512.Equals(t & exp, exp);
        return Vector512.ConditionalSelect(special.AsSingle(), (t | Vector512.Create(0x7f800000u)).AsSingle(), f);
    }

    /// <summary>As <see cref="HalfToFloat"/> without the exponent-31 fix: exact for finite halves only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FiniteHalfToFloat(Vector256<ushort> h) =>
        ((Avx512F.ConvertToVector512Int32(h.AsInt16()).AsUInt32() << 13) & Vector512.Create(0x8fffe000u)).AsSingle()
        * Vector512.Create(0x77800000u).AsSingle();

    /// <remarks>Decode is bound by this conversion as much as by memory (with no F16C intrinsic in .NET it is
    /// integer work), so the main loop converts as if every half were finite and only tracks the largest
    /// |h|·2 seen — one 16-bit max per 32 weights instead of a compare and blend per 16. A row holding an
    /// infinity or NaN is rare enough (a broken file) to be recomputed by the exact loop.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        Vector512<float> s0 = default, s1 = default;
        Vector512<ushort> top = default;
        var i = 0;
        for (; i + 32 <= n; i += 32)
        {
            var h = Vector512.Load(p + i);
            top = Avx512BW.Max(top, h + h);
            s0 = Avx512F.FusedMultiplyAdd(FiniteHalfToFloat(Vector256.Load(p + i)), Vector512.Load(a.F + i), s0);
            s1 = Avx512F.FusedMultiplyAdd(FiniteHalfToFloat(Vector256.Load(p + i + 16)), Vector512.Load(a.F + i + 16), s1);
        }
        return Vector512.GreaterThanOrEqualAny(top, Vector512.Create((ushort)0xf800)) ? F16Exact(p, a, n) : F16Tail(p, a, i, n, s0, s1);
    }

    /// <summary>The same sum with every half decoded exactly, infinities and NaNs included.</summary>
    private static float F16Exact(ushort* p, in ActRow a, int n)
    {
        Vector512<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 32 <= n; i += 32)
        {
            s0 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i)), Vector512.Load(a.F + i), s0);
            s1 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i + 16)), Vector512.Load(a.F + i + 16), s1);
        }
        return F16Tail(p, a, i, n, s0, s1);
    }

    /// <summary>The last n − i (&lt; 32) weights, exactly decoded, and the reduction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float F16Tail(ushort* p, in ActRow a, int i, int n, Vector512<float> s0, Vector512<float> s1)
    {
        for (; i + 16 <= n; i += 16) s0 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i)), Vector512.Load(a.F + i), s0);
        var s = Vector512.Sum(s0 + s1);
        for (; i < n; i++) s += Fp.HalfTable[p[i]] * a.F[i];
        return s;
    }


    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, in ActRow a, int nb)
    {
        Vector256<float> acc = default;
        var mask = Vector512.Create((byte)0x0F);
        var two = Vector512.Create((byte)0x03);
        var idx0 = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        for (var b = 0; b < nb; b++, w += Q6_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            var sc = (sbyte*)(w + 192);
            var scales = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(sc)).ToVector512();
            Vector512<int> isum = default;
            for (var h = 0; h < 2; h++)
            {
                var ql = Vector512.Load(w + 64 * h);
                var qh = Vector256.Load(w + 128 + 32 * h);
                // Values 128h + 0..63 (k = 0, 1), then 128h + 64..127 (k = 2, 3).
                var qh01 = Join(qh, Avx2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte());
                var qh23 = Join(Avx2.ShiftRightLogical(qh.AsUInt16(), 4).AsByte(), Avx2.ShiftRightLogical(qh.AsUInt16(), 6).AsByte());
                var q01 = (ql & mask) | ((qh01 & two).AsUInt16() << 4).AsByte();
                var q23 = ((ql.AsUInt16() >> 4).AsByte() & mask) | ((qh23 & two).AsUInt16() << 4).AsByte();
                var s01 = Avx512BW.PermuteVar32x16(scales, idx0 + Vector512.Create((short)(8 * h)));
                var s23 = Avx512BW.PermuteVar32x16(scales, idx0 + Vector512.Create((short)(8 * h + 4)));
                isum += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q01, Vector512.Load(x + 128 * h)), s01);
                isum += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q23, Vector512.Load(x + 128 * h + 64)), s23);
            }
            // Lanes 0..7 and 8..15 hold the same value positions of two 32-value runs: folded, they are
            // ggml's eight lanes (the sums are exact, so the fold order does not matter).
            var lanes = Avx2.Subtract(Avx2.Add(isum.GetLower(), isum.GetUpper()), Avx2Dot.Q6OffsetLanes(sc, a.BSums + 16 * b));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lanes), Vector256.Create(a.D[b] * Fp.LoadHalf(w + 208)), acc);
        }
        return Avx2Dot.GgmlSum(acc);
    }
}
