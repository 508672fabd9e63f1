using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sovra.Kernels.Formats;

/// <summary>
/// The form activations take before a dot product with a weight format, as in ggml's <c>vec_dot_type</c>:
/// the 32-blocks pair with Q8_0 (Q4_1 / Q5_1 with Q8_1, which adds d·Σq), the K-quants with Q8_K, and the
/// float formats with floats rounded to the weight's own precision (so products match ggml's F16·F16 / BF16·BF16).
/// </summary>
public enum ActivationKind { F32, F16Rounded, Bf16Rounded, Q8_0, Q8_1, Q8_K }

/// <summary>
/// One quantized activation row in the kernels' own struct-of-arrays layout (not ggml's block bytes: the values
/// are the same, the arrangement is the one SIMD loads want). Which pointers are set depends on the kind.
/// </summary>
internal unsafe struct ActRow
{
    public sbyte* Q;     // [cols]      Q8_*: the int8 values
    public float* D;     // [cols/32]   Q8_0 / Q8_1: the F16-rounded scale; [cols/256] Q8_K: the float scale
    public float* S;     // [cols/32]   Q8_1: F16-rounded d·Σq of the block
    public short* BSums; // [cols/16]   Q8_K: Σq of each 16 values
    public int* Sum;     // [cols/32]   Q8_0 / Q8_1: Σq of the block (lets unsigned weight nibbles skip the −8 per value)
    public float* F;     // [cols]      float kinds
}

internal static unsafe class Activations
{
    /// <summary>Bytes one activation row of <paramref name="cols"/> values needs (64-byte aligned parts).</summary>
    public static long RowBytes(ActivationKind kind, int cols) => kind switch
    {
        ActivationKind.F32 or ActivationKind.F16Rounded or ActivationKind.Bf16Rounded => Align(4L * cols),
        ActivationKind.Q8_0 or ActivationKind.Q8_1 => Align(cols) + 3 * Align(4L * (cols / 32)),
        ActivationKind.Q8_K => Align(cols) + Align(4L * (cols / 256)) + Align(2L * (cols / 16)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static int BlockSize(ActivationKind kind) => kind switch
    {
        ActivationKind.Q8_0 or ActivationKind.Q8_1 => 32,
        ActivationKind.Q8_K => 256,
        _ => 1,
    };

    private static long Align(long n) => (n + 63) & ~63L;

    /// <summary>The pointers of a row laid out at <paramref name="p"/> (as <see cref="RowBytes"/> counts).</summary>
    public static ActRow Row(ActivationKind kind, byte* p, int cols)
    {
        var r = default(ActRow);
        switch (kind)
        {
            case ActivationKind.F32 or ActivationKind.F16Rounded or ActivationKind.Bf16Rounded:
                r.F = (float*)p;
                break;
            case ActivationKind.Q8_0 or ActivationKind.Q8_1:
                r.Q = (sbyte*)p;
                r.D = (float*)(p + Align(cols));
                r.S = (float*)(p + Align(cols) + Align(4L * (cols / 32)));
                r.Sum = (int*)(p + Align(cols) + 2 * Align(4L * (cols / 32)));
                break;
            case ActivationKind.Q8_K:
                r.Q = (sbyte*)p;
                r.D = (float*)(p + Align(cols));
                r.BSums = (short*)(p + Align(cols) + Align(4L * (cols / 256)));
                break;
        }
        return r;
    }

    /// <summary>Quantizes one row of <paramref name="cols"/> floats into <paramref name="r"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(ActivationKind kind, float* x, int cols, in ActRow r)
    {
        switch (kind)
        {
            case ActivationKind.F32:
                Buffer.MemoryCopy(x, r.F, 4L * cols, 4L * cols);
                break;
            case ActivationKind.F16Rounded:
            {
                var i = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= cols; i += 8) RoundToHalf(Vector256.Load(x + i)).Store(r.F + i);
                for (; i < cols; i++) r.F[i] = Fp.RoundToHalf(x[i]);
                break;
            }
            case ActivationKind.Bf16Rounded:
            {
                var i = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= cols; i += 8) RoundToBf16(Vector256.Load(x + i)).Store(r.F + i);
                for (; i < cols; i++) r.F[i] = Fp.RoundToBf16(x[i]);
                break;
            }
            case ActivationKind.Q8_0 or ActivationKind.Q8_1:
                if (Vector256.IsHardwareAccelerated)
                    for (var b = 0; b < cols / 32; b++) r.Sum[b] = QuantizeQ8BlockVector(x + 32 * b, r.Q + 32 * b, out r.D[b], out r.S[b]);
                else
                    for (var b = 0; b < cols / 32; b++) r.Sum[b] = QuantizeQ8Block(x + 32 * b, r.Q + 32 * b, out r.D[b], out r.S[b]);
                break;
            case ActivationKind.Q8_K:
                if (Vector256.IsHardwareAccelerated)
                    for (var b = 0; b < cols / 256; b++) QuantizeQ8KBlockVector(x + 256 * b, r.Q + 256 * b, out r.D[b], r.BSums + 16 * b);
                else
                    for (var b = 0; b < cols / 256; b++) QuantizeQ8KBlock(x + 256 * b, r.Q + 256 * b, out r.D[b], r.BSums + 16 * b);
                break;
        }
    }

    /// <summary>
    /// Q8_0 / Q8_1 activation rounding as ggml-cpu's x86 build does it (quantize_row_q8_0 / q8_1, the AVX path that
    /// llama.cpp runs on this kind of machine): d = amax/127 kept F16-rounded, q = round-to-nearest-even(x · (127/amax))
    /// with the multiplier 127/amax in float (not 1/d), and d·Σq with the unrounded d, F16-rounded. ggml's scalar
    /// reference differs in two places (1/d and round-half-away), which flips a value now and then; a flipped
    /// activation in an early layer is enough to change a greedy token many steps later.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QuantizeQ8Block(float* x, sbyte* q, out float d, out float s)
    {
        var amax = 0f;
        for (var j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        var dd = amax / 127f;
        var id = GgmlRounding.Q8Multiplier(amax);
        var sum = 0;
        for (var j = 0; j < 32; j++)
        {
            var v = (int)MathF.Round(x[j] * id, MidpointRounding.ToEven);
            q[j] = (sbyte)v;
            sum += v;
        }
        d = Fp.RoundToHalf(dd);
        s = Fp.RoundToHalf(sum * dd);
        return sum;
    }

    /// <summary>(float)(Half)x for eight floats, exactly: round to nearest even at 10 mantissa bits (normal
    /// halves), at multiples of 2^−24 (subnormal halves), ±inf from 65520 up; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundToHalf(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var sign = bits & Vector256.Create(0x80000000u);
        var mag = bits & Vector256.Create(0x7fffffffu);
        var lsb = (mag >> 13) & Vector256<uint>.One;
        var normal = (mag + Vector256.Create(0x0fffu) + lsb) & Vector256.Create(~0x1fffu);
        var tiny = Vector256.Round(mag.AsSingle() * Vector256.Create(16777216f)) * Vector256.Create(1f / 16777216f);
        var r = Vector256.ConditionalSelect(Vector256.LessThan(mag, Vector256.Create(0x38800000u)), tiny.AsUInt32(), normal); // < 2^−14
        r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(mag, Vector256.Create(0x477ff000u)), Vector256.Create(0x7f800000u), r); // ≥ 65520
        r = Vector256.ConditionalSelect(Vector256.GreaterThan(mag, Vector256.Create(0x7f800000u)), mag, r); // NaN
        return (r | sign).AsSingle();
    }

    /// <summary><see cref="Fp.RoundToBf16"/> for eight floats, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundToBf16(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7fffu) + ((bits >> 16) & Vector256<uint>.One)) & Vector256.Create(0xffff0000u);
        var nan = Vector256.GreaterThan(bits & Vector256.Create(0x7fffffffu), Vector256.Create(0x7f800000u));
        var quiet = (bits | Vector256.Create(0x00400000u)) & Vector256.Create(0xffff0000u);
        return Vector256.ConditionalSelect(nan, quiet, rounded).AsSingle();
    }

    /// <summary><see cref="QuantizeQ8Block"/> with Vector256: the same values, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int QuantizeQ8BlockVector(float* x, sbyte* q, out float d, out float s)
    {
        var v0 = Vector256.Load(x);
        var v1 = Vector256.Load(x + 8);
        var v2 = Vector256.Load(x + 16);
        var v3 = Vector256.Load(x + 24);
        var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var amax = 0f;
        for (var j = 0; j < 8; j++) amax = MathF.Max(amax, m[j]);
        var dd = amax / 127f;
        var id = Vector256.Create(GgmlRounding.Q8Multiplier(amax));
        // Vector256.Round rounds ties to even, as _mm256_round_ps(_MM_ROUND_NEAREST) does.
        var i0 = Vector256.ConvertToInt32(Vector256.Round(v0 * id));
        var i1 = Vector256.ConvertToInt32(Vector256.Round(v1 * id));
        var i2 = Vector256.ConvertToInt32(Vector256.Round(v2 * id));
        var i3 = Vector256.ConvertToInt32(Vector256.Round(v3 * id));
        var sum = Vector256.Sum(i0 + i1 + i2 + i3);
        var w01 = Vector256.Narrow(i0, i1);
        var w23 = Vector256.Narrow(i2, i3);
        // Narrow works lane-wise in order, so the bytes come out as 0..31.
        Vector256.Narrow(w01, w23).Store(q);
        d = Fp.RoundToHalf(dd);
        s = Fp.RoundToHalf(sum * dd);
        return sum;
    }

    /// <summary><see cref="QuantizeQ8KBlock"/> with Vector256: the same values, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeQ8KBlockVector(float* x, sbyte* q, out float d, short* bsums)
    {
        Vector256<float> vmax = Vector256.Create(float.MinValue), vmin = Vector256.Create(float.MaxValue);
        for (var j = 0; j < 256; j += 8)
        {
            var v = Vector256.Load(x + j);
            vmax = Vector256.Max(vmax, v);
            vmin = Vector256.Min(vmin, v);
        }
        float hi = float.MinValue, lo = float.MaxValue;
        for (var j = 0; j < 8; j++) { hi = MathF.Max(hi, vmax[j]); lo = MathF.Min(lo, vmin[j]); }
        if (hi == -lo || hi == 0 && lo == 0)
        {
            // Equal magnitudes: ggml keeps the first one met, which only a scan finds.
            QuantizeQ8KBlock(x, q, out d, bsums);
            return;
        }
        var max = -lo > hi ? lo : hi;
        var iscale = -127f / max;
        var sv = Vector256.Create(iscale);
        var top = Vector256.Create(127);
        for (var j = 0; j < 256; j += 32)
        {
            var i0 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + j) * sv)));
            var i1 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + j + 8) * sv)));
            var i2 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + j + 16) * sv)));
            var i3 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + j + 24) * sv)));
            bsums[j / 16] = (short)Vector256.Sum(i0 + i1);
            bsums[j / 16 + 1] = (short)Vector256.Sum(i2 + i3);
            Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store(q + j);
        }
        d = 1 / iscale;
    }

    /// <summary>ggml's quantize_row_q8_K: the signed value of largest magnitude maps to -127; float scale; sums of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeQ8KBlock(float* x, sbyte* q, out float d, short* bsums)
    {
        float amax = 0, max = 0;
        for (var j = 0; j < 256; j++)
        {
            var ax = MathF.Abs(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0)
        {
            d = 0;
            for (var j = 0; j < 256; j++) q[j] = 0;
            for (var j = 0; j < 16; j++) bsums[j] = 0;
            return;
        }
        var iscale = -127f / max;
        for (var j = 0; j < 256; j++) q[j] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * x[j], MidpointRounding.ToEven));
        for (var g = 0; g < 16; g++)
        {
            var s = 0;
            for (var j = 0; j < 16; j++) s += q[16 * g + j];
            bsums[g] = (short)s;
        }
        d = 1 / iscale;
    }
}

/// <summary>
/// ggml-cpu's roundings for code outside the kernels that must round exactly as llama.cpp does: Q8_0 blocks (see
/// <see cref="Activations.QuantizeQ8Block"/>; the engine's Q8_0 KV cache, which llama.cpp fills with the same
/// function) and F16 accumulators (llama.cpp's flash attention keeps its running V sum in F16 for small batches).
/// </summary>
public static unsafe class GgmlRounding
{
    /// <summary>The multiplier applied before rounding a Q8 block: 127/amax in float (0 for an all-zero block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Multiplier(float amax) => amax != 0 ? 127f / amax : 0f;

    /// <summary>Quantizes one block of 32 values into <paramref name="q"/>; returns the F16 scale d = amax/127.</summary>
    public static Half QuantizeQ8Block(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        if (x.Length != 32 || q.Length != 32) throw new ArgumentException($"a Q8_0 block holds 32 values, got {x.Length} and {q.Length}");
        float d;
        fixed (float* px = x)
        fixed (sbyte* pq = q)
            Activations.QuantizeQ8Block(px, pq, out d, out _);
        return (Half)d;
    }

    /// <summary>y = (float)(Half)x, element-wise (round to nearest even).</summary>
    public static void RoundToHalf(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("destination too short");
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= x.Length; i += 8) Activations.RoundToHalf(Vector256.Create(x.Slice(i, 8))).CopyTo(y.Slice(i, 8));
        for (; i < x.Length; i++) y[i] = Fp.RoundToHalf(x[i]);
    }

    /// <summary>acc = (Half)(acc + v·w) with one fused multiply-add per element, as ggml_vec_mad_f16 does.</summary>
    public static void MulAddToHalf(Span<float> acc, ReadOnlySpan<float> v, float w)
    {
        if (v.Length < acc.Length) throw new ArgumentException("source too short");
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vw = Vector256.Create(w);
            for (; i + 8 <= acc.Length; i += 8)
            {
                var a = Vector256.Create((ReadOnlySpan<float>)acc.Slice(i, 8));
                Activations.RoundToHalf(Vector256.FusedMultiplyAdd(Vector256.Create(v.Slice(i, 8)), vw, a)).CopyTo(acc.Slice(i, 8));
            }
        }
        for (; i < acc.Length; i++) acc[i] = Fp.RoundToHalf(MathF.FusedMultiplyAdd(v[i], w, acc[i]));
    }

    /// <summary>acc = (Half)(acc·s), as ggml_vec_scale_f16 does.</summary>
    public static void ScaleToHalf(Span<float> acc, float s)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + 8 <= acc.Length; i += 8)
                Activations.RoundToHalf(Vector256.Create((ReadOnlySpan<float>)acc.Slice(i, 8)) * vs).CopyTo(acc.Slice(i, 8));
        }
        for (; i < acc.Length; i++) acc[i] = Fp.RoundToHalf(acc[i] * s);
    }
}
