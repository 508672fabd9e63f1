using System.Runtime.CompilerServices;

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
    public float* F;     // [cols]      float kinds
}

internal static unsafe class Activations
{
    /// <summary>Bytes one activation row of <paramref name="cols"/> values needs (64-byte aligned parts).</summary>
    public static long RowBytes(ActivationKind kind, int cols) => kind switch
    {
        ActivationKind.F32 or ActivationKind.F16Rounded or ActivationKind.Bf16Rounded => Align(4L * cols),
        ActivationKind.Q8_0 or ActivationKind.Q8_1 => Align(cols) + 2 * Align(4L * (cols / 32)),
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
    public static void Quantize(ActivationKind kind, float* x, int cols, in ActRow r)
    {
        switch (kind)
        {
            case ActivationKind.F32:
                Buffer.MemoryCopy(x, r.F, 4L * cols, 4L * cols);
                break;
            case ActivationKind.F16Rounded:
                for (var i = 0; i < cols; i++) r.F[i] = Fp.RoundToHalf(x[i]);
                break;
            case ActivationKind.Bf16Rounded:
                for (var i = 0; i < cols; i++) r.F[i] = Fp.RoundToBf16(x[i]);
                break;
            case ActivationKind.Q8_0 or ActivationKind.Q8_1:
                for (var b = 0; b < cols / 32; b++) QuantizeQ8Block(x + 32 * b, r.Q + 32 * b, out r.D[b], out r.S[b]);
                break;
            case ActivationKind.Q8_K:
                for (var b = 0; b < cols / 256; b++) QuantizeQ8KBlock(x + 256 * b, r.Q + 256 * b, out r.D[b], r.BSums + 16 * b);
                break;
        }
    }

    /// <summary>ggml's quantize_row_q8_0/q8_1: d = amax/127, q = round-half-away(x/d); d and d·Σq kept F16-rounded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuantizeQ8Block(float* x, sbyte* q, out float d, out float s)
    {
        var amax = 0f;
        for (var j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        var dd = amax / 127f;
        var id = dd != 0 ? 1f / dd : 0f;
        var sum = 0;
        for (var j = 0; j < 32; j++)
        {
            var v = (int)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            q[j] = (sbyte)v;
            sum += v;
        }
        d = Fp.RoundToHalf(dd);
        s = Fp.RoundToHalf(sum * dd);
    }

    /// <summary>ggml's quantize_row_q8_K: the signed value of largest magnitude maps to -127; float scale; sums of 16.</summary>
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
