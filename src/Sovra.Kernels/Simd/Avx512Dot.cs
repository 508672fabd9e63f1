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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToFloat(Vector256<ushort> h)
    {
        var v = Avx512F.ConvertToVector512Int32(h).AsUInt32();
        var sign = (v & Vector512.Create(0x8000u)) << 16;
        var o = (v & Vector512.Create(0x7fffu)) << 13;
        var exp = o & Vector512.Create(0x0f800000u);
        o += Vector512.Create(112u << 23);
        o += Vector512.Equals(exp, Vector512.Create(0x0f800000u)) & Vector512.Create(112u << 23);
        var sub = (o + Vector512.Create(1u << 23)).AsSingle() - Vector512.Create(113u << 23).AsSingle();
        var r = Vector512.ConditionalSelect(Vector512.Equals(exp, Vector512<uint>.Zero).AsSingle(), sub, o.AsSingle());
        return r | sign.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        Vector512<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 32 <= n; i += 32)
        {
            s0 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i)), Vector512.Load(a.F + i), s0);
            s1 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i + 16)), Vector512.Load(a.F + i + 16), s1);
        }
        for (; i + 16 <= n; i += 16) s0 = Avx512F.FusedMultiplyAdd(HalfToFloat(Vector256.Load(p + i)), Vector512.Load(a.F + i), s0);
        var s = Vector512.Sum(s0 + s1);
        for (; i < n; i++) s += Fp.HalfTable[p[i]] * a.F[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* w, in ActRow a, int nb)
    {
        Vector512<float> acc = default;
        var b = 0;
        for (; b + 2 <= nb; b += 2, w += 2 * Q8_0Block.Bytes)
        {
            var q = Join(Vector256.Load((sbyte*)(w + 2)), Vector256.Load((sbyte*)(w + 36)));
            var p = DotI8(q, Vector512.Load(a.Q + 32 * b));
            var s = Scales2(Fp.LoadHalf(w) * a.D[b], Fp.LoadHalf(w + 34) * a.D[b + 1]);
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p), s, acc);
        }
        var sum = Vector512.Sum(acc);
        if (b < nb) sum += Avx2Dot.Q8_0(w, new ActRow { Q = a.Q + 32 * b, D = a.D + b }, 1);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_0(byte* w, in ActRow a, int nb)
    {
        Vector512<float> acc = default;
        var eight = Vector512.Create((byte)8);
        var b = 0;
        for (; b + 2 <= nb; b += 2, w += 2 * Q4_0Block.Bytes)
        {
            var q = (Join(Avx2Dot.Nibbles(w + 2), Avx2Dot.Nibbles(w + 20)) - eight).AsSByte();
            var p = DotI8(q, Vector512.Load(a.Q + 32 * b));
            var s = Scales2(Fp.LoadHalf(w) * a.D[b], Fp.LoadHalf(w + 18) * a.D[b + 1]);
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p), s, acc);
        }
        var sum = Vector512.Sum(acc);
        if (b < nb) sum += Avx2Dot.Q4_0(w, new ActRow { Q = a.Q + 32 * b, D = a.D + b }, 1);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, in ActRow a, int nb)
    {
        Vector512<float> acc = default;
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
            var total = Vector512.Sum(isum) - Avx2Dot.Q6Offset(sc, a.BSums + 16 * b);
            acc = Avx512F.FusedMultiplyAdd(Vector512.CreateScalar((float)total), Vector512.Create(a.D[b] * Fp.LoadHalf(w + 208)), acc);
        }
        return Vector512.Sum(acc);
    }
}
