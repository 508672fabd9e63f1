using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Simd;

/// <summary>
/// Row dot products with the portable Vector128 API only (SSE on x86, AdvSimd on Arm): the fallback for CPUs
/// without AVX2. int8 products are widened to int16, which cannot overflow for any of the formats' ranges.
/// </summary>
internal static unsafe class V128Dot
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot16(Vector128<sbyte> w, Vector128<sbyte> x)
    {
        var (wl, wh) = Vector128.Widen(w);
        var (xl, xh) = Vector128.Widen(x);
        var (a, b) = Vector128.Widen(wl * xl);
        var (c, d) = Vector128.Widen(wh * xh);
        return (a + b) + (c + d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot32(Vector128<sbyte> w0, Vector128<sbyte> w1, sbyte* x) =>
        Dot16(w0, Vector128.Load(x)) + Dot16(w1, Vector128.Load(x + 16));

    internal static void Warm() => _ = FifthBitTable.Length;

    // Byte value → eight bytes, 0x10 where its bit is set: the fifth bit of Q5_0 / Q5_1 values.
    private static readonly ulong[] FifthBitTable = BuildFifthBitTable();

    private static ulong[] BuildFifthBitTable()
    {
        var t = GC.AllocateUninitializedArray<ulong>(256, pinned: true);
        for (var v = 0; v < 256; v++)
        {
            ulong r = 0;
            for (var j = 0; j < 8; j++) if ((v & (1 << j)) != 0) r |= 0x10UL << (8 * j);
            t[v] = r;
        }
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FifthBits(uint qh, out Vector128<sbyte> lo, out Vector128<sbyte> hi)
    {
        var t = (ulong*)Unsafe.AsPointer(ref FifthBitTable[0]);
        lo = Vector128.Create(t[qh & 0xFF], t[(qh >> 8) & 0xFF]).AsSByte();
        hi = Vector128.Create(t[(qh >> 16) & 0xFF], t[qh >> 24]).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(byte* w, in ActRow a, int n)
    {
        var p = (float*)w;
        Vector128<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            s0 += Vector128.Load(p + i) * Vector128.Load(a.F + i);
            s1 += Vector128.Load(p + i + 4) * Vector128.Load(a.F + i + 4);
        }
        var s = Vector128.Sum(s0 + s1);
        for (; i < n; i++) s += p[i] * a.F[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfToFloat(Vector128<uint> v)
    {
        var sign = (v & Vector128.Create(0x8000u)) << 16;
        var o = (v & Vector128.Create(0x7fffu)) << 13;
        var exp = o & Vector128.Create(0x0f800000u);
        o += Vector128.Create(112u << 23);
        o += Vector128.Equals(exp, Vector128.Create(0x0f800000u)) & Vector128.Create(112u << 23);
        var sub = (o + Vector128.Create(1u << 23)).AsSingle() - Vector128.Create(113u << 23).AsSingle();
        var r = Vector128.ConditionalSelect(Vector128.Equals(exp, Vector128<uint>.Zero).AsSingle(), sub, o.AsSingle());
        return r | sign.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        Vector128<float> s0 = default;
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var (lo, hi) = Vector128.Widen(Vector128.Load(p + i));
            s0 += HalfToFloat(lo) * Vector128.Load(a.F + i);
            s0 += HalfToFloat(hi) * Vector128.Load(a.F + i + 4);
        }
        var s = Vector128.Sum(s0);
        for (; i < n; i++) s += Fp.HalfTable[p[i]] * a.F[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Bf16(byte* w, in ActRow a, int n)
    {
        var p = (ushort*)w;
        Vector128<float> s0 = default;
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var (lo, hi) = Vector128.Widen(Vector128.Load(p + i));
            s0 += (lo << 16).AsSingle() * Vector128.Load(a.F + i);
            s0 += (hi << 16).AsSingle() * Vector128.Load(a.F + i + 4);
        }
        var s = Vector128.Sum(s0);
        for (; i < n; i++) s += Fp.Bf16ToFloat(p[i]) * a.F[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* w, in ActRow a, int nb)
    {
        Vector128<float> acc = default;
        for (var b = 0; b < nb; b++, w += Q8_0Block.Bytes)
        {
            var q = (sbyte*)(w + 2);
            var p = Dot32(Vector128.Load(q), Vector128.Load(q + 16), a.Q + 32 * b);
            acc += Vector128.ConvertToSingle(p) * Vector128.Create(Fp.LoadHalf(w) * a.D[b]);
        }
        return Vector128.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Nibbles(byte* qs, out Vector128<sbyte> lo, out Vector128<sbyte> hi)
    {
        var q = Vector128.Load(qs);
        lo = (q & Vector128.Create((byte)0x0F)).AsSByte();
        hi = Vector128.ShiftRightLogical(q, 4).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_0(byte* w, in ActRow a, int nb)
    {
        Vector128<float> acc = default;
        var eight = Vector128.Create((sbyte)8);
        for (var b = 0; b < nb; b++, w += Q4_0Block.Bytes)
        {
            Nibbles(w + 2, out var lo, out var hi);
            var p = Dot32(lo - eight, hi - eight, a.Q + 32 * b);
            acc += Vector128.ConvertToSingle(p) * Vector128.Create(Fp.LoadHalf(w) * a.D[b]);
        }
        return Vector128.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_1(byte* w, in ActRow a, int nb)
    {
        Vector128<float> acc = default;
        var mins = 0f;
        for (var b = 0; b < nb; b++, w += Q4_1Block.Bytes)
        {
            Nibbles(w + 4, out var lo, out var hi);
            var p = Dot32(lo, hi, a.Q + 32 * b);
            acc += Vector128.ConvertToSingle(p) * Vector128.Create(Fp.LoadHalf(w) * a.D[b]);
            mins += Fp.LoadHalf(w + 2) * a.S[b];
        }
        return Vector128.Sum(acc) + mins;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_0(byte* w, in ActRow a, int nb)
    {
        Vector128<float> acc = default;
        var sixteen = Vector128.Create((sbyte)16);
        for (var b = 0; b < nb; b++, w += Q5_0Block.Bytes)
        {
            Nibbles(w + 6, out var lo, out var hi);
            FifthBits(*(uint*)(w + 2), out var hl, out var hh);
            var p = Dot32((lo | hl) - sixteen, (hi | hh) - sixteen, a.Q + 32 * b);
            acc += Vector128.ConvertToSingle(p) * Vector128.Create(Fp.LoadHalf(w) * a.D[b]);
        }
        return Vector128.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_1(byte* w, in ActRow a, int nb)
    {
        Vector128<float> acc = default;
        var mins = 0f;
        for (var b = 0; b < nb; b++, w += Q5_1Block.Bytes)
        {
            Nibbles(w + 8, out var lo, out var hi);
            FifthBits(*(uint*)(w + 4), out var hl, out var hh);
            var p = Dot32(lo | hl, hi | hh, a.Q + 32 * b);
            acc += Vector128.ConvertToSingle(p) * Vector128.Create(Fp.LoadHalf(w) * a.D[b]);
            mins += Fp.LoadHalf(w + 2) * a.S[b];
        }
        return Vector128.Sum(acc) + mins;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_K(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        var mask = Vector128.Create((byte)0x0F);
        for (var b = 0; b < nb; b++, w += Q4_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            Vector128<int> isum = default;
            for (var c = 0; c < 4; c++)
            {
                KScales.Get(w + 4, 2 * c, out var sc1, out _);
                KScales.Get(w + 4, 2 * c + 1, out var sc2, out _);
                var q0 = Vector128.Load(w + 16 + 32 * c);
                var q1 = Vector128.Load(w + 32 + 32 * c);
                var lo = Dot32((q0 & mask).AsSByte(), (q1 & mask).AsSByte(), x + 64 * c);
                var hi = Dot32(Vector128.ShiftRightLogical(q0, 4).AsSByte(), Vector128.ShiftRightLogical(q1, 4).AsSByte(), x + 64 * c + 32);
                isum += lo * sc1 + hi * sc2;
            }
            var dx = a.D[b];
            sum += dx * Fp.LoadHalf(w) * Vector128.Sum(isum) - dx * Fp.LoadHalf(w + 2) * KScales.MinSum(w + 4, a.BSums + 16 * b);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_K(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        var mask = Vector128.Create((byte)0x0F);
        var one = Vector128.Create((byte)1);
        for (var b = 0; b < nb; b++, w += Q5_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            var qh0 = Vector128.Load(w + 16);
            var qh1 = Vector128.Load(w + 32);
            Vector128<int> isum = default;
            for (var c = 0; c < 4; c++)
            {
                KScales.Get(w + 4, 2 * c, out var sc1, out _);
                KScales.Get(w + 4, 2 * c + 1, out var sc2, out _);
                var q0 = Vector128.Load(w + 48 + 32 * c);
                var q1 = Vector128.Load(w + 64 + 32 * c);
                var l0 = (q0 & mask) | ((Vector128.ShiftRightLogical(qh0, 2 * c) & one) << 4);
                var l1 = (q1 & mask) | ((Vector128.ShiftRightLogical(qh1, 2 * c) & one) << 4);
                var h0 = Vector128.ShiftRightLogical(q0, 4) | ((Vector128.ShiftRightLogical(qh0, 2 * c + 1) & one) << 4);
                var h1 = Vector128.ShiftRightLogical(q1, 4) | ((Vector128.ShiftRightLogical(qh1, 2 * c + 1) & one) << 4);
                isum += Dot32(l0.AsSByte(), l1.AsSByte(), x + 64 * c) * sc1 + Dot32(h0.AsSByte(), h1.AsSByte(), x + 64 * c + 32) * sc2;
            }
            var dx = a.D[b];
            sum += dx * Fp.LoadHalf(w) * Vector128.Sum(isum) - dx * Fp.LoadHalf(w + 2) * KScales.MinSum(w + 4, a.BSums + 16 * b);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        var mask = Vector128.Create((byte)0x0F);
        var two = Vector128.Create((byte)0x03);
        for (var b = 0; b < nb; b++, w += Q6_KBlock.Bytes)
        {
            var x = a.Q + 256 * b;
            var sc = (sbyte*)(w + 192);
            var isum = 0;
            for (var h = 0; h < 2; h++)
                for (var k = 0; k < 4; k++)
                    for (var half = 0; half < 2; half++)
                    {
                        // 16 values: 128h + 32k + 16·half + i.
                        var ql = Vector128.Load(w + 64 * h + 32 * (k & 1) + 16 * half);
                        var qh = Vector128.Load(w + 128 + 32 * h + 16 * half);
                        var low = k < 2 ? ql & mask : Vector128.ShiftRightLogical(ql, 4);
                        var q = low | ((Vector128.ShiftRightLogical(qh, 2 * k) & two) << 4);
                        var g = 8 * h + 2 * k + half;
                        isum += sc[g] * Vector128.Sum(Dot16(q.AsSByte(), Vector128.Load(x + 16 * g)));
                    }
            sum += a.D[b] * Fp.LoadHalf(w + 208) * (isum - Q6_KBlock.Offset(sc, a.BSums + 16 * b));
        }
        return sum;
    }
}
