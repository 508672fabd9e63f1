using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Sovra.Gguf;

namespace Sovra.Kernels.Formats;

/// <summary>Managed entry points onto the pointer kernels, for tests and benchmarks (which have no unsafe code).</summary>
internal static unsafe class KernelProbe
{
    /// <summary>Quantizes <paramref name="x"/> as activations and returns the backing bytes plus the row view's layout.</summary>
    public static byte[] QuantizeActivation(ActivationKind kind, float[] x, bool scalar = false)
    {
        var bytes = new byte[Activations.RowBytes(kind, x.Length)];
        fixed (float* px = x)
        fixed (byte* pb = bytes)
        {
            var r = Activations.Row(kind, pb, x.Length);
            if (!scalar) Activations.Quantize(kind, px, x.Length, r);
            else if (kind == ActivationKind.Q8_K)
                for (var b = 0; b < x.Length / 256; b++) Activations.QuantizeQ8KBlock(px + 256 * b, r.Q + 256 * b, out r.D[b], r.BSums + 16 * b);
            else if (kind is ActivationKind.Q8_0 or ActivationKind.Q8_1)
                for (var b = 0; b < x.Length / 32; b++) r.Sum[b] = Activations.QuantizeQ8Block(px + 32 * b, r.Q + 32 * b, out r.D[b], out r.S[b]);
            else throw new ArgumentException($"no scalar path to pick for {kind}");
        }
        return bytes;
    }

    /// <summary>The activation row re-encoded as ggml's block_q8_0 / block_q8_1 / block_q8_K bytes.</summary>
    public static byte[] ActivationAsGgml(ActivationKind kind, float[] x, bool scalar = false)
    {
        var bytes = QuantizeActivation(kind, x, scalar);
        fixed (byte* pb = bytes)
        {
            var r = Activations.Row(kind, pb, x.Length);
            switch (kind)
            {
                case ActivationKind.Q8_0 or ActivationKind.Q8_1:
                {
                    var bb = kind == ActivationKind.Q8_0 ? 34 : 36;
                    var o = new byte[x.Length / 32 * bb];
                    for (var b = 0; b < x.Length / 32; b++)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(b * bb), Fp.FloatToHalf(r.D[b]));
                        if (kind == ActivationKind.Q8_1) BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(b * bb + 2), Fp.FloatToHalf(r.S[b]));
                        for (var j = 0; j < 32; j++) o[b * bb + bb - 32 + j] = (byte)r.Q[32 * b + j];
                    }
                    return o;
                }
                case ActivationKind.Q8_K:
                {
                    var o = new byte[x.Length / 256 * 292];
                    for (var b = 0; b < x.Length / 256; b++)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(o.AsSpan(b * 292), r.D[b]);
                        for (var j = 0; j < 256; j++) o[b * 292 + 4 + j] = (byte)r.Q[256 * b + j];
                        for (var j = 0; j < 16; j++) BinaryPrimitives.WriteInt16LittleEndian(o.AsSpan(b * 292 + 260 + 2 * j), r.BSums[16 * b + j]);
                    }
                    return o;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind));
            }
        }
    }

    /// <summary>The vector F16 / BF16 rounding of activations, for comparison with the scalar conversions.</summary>
    public static float[] RoundVector(bool half, float[] x)
    {
        var y = new float[x.Length];
        fixed (float* px = x)
        fixed (float* py = y)
            for (var i = 0; i + 8 <= x.Length; i += 8)
                (half ? Activations.RoundToHalf(Vector256.Load(px + i)) : Activations.RoundToBf16(Vector256.Load(px + i))).Store(py + i);
        return y;
    }

    /// <summary>Every one of the 65536 halves through the AVX-512 and AVX2 vector conversions (null where unavailable).</summary>
    public static (float[]? Avx512, float[]? Avx2) AllHalvesVector()
    {
        float[]? a512 = null, a2 = null;
        var h = new ushort[65536];
        for (var i = 0; i < h.Length; i++) h[i] = (ushort)i;
        fixed (ushort* ph = h)
        {
            if (Simd.KernelDispatch.IsAvailable(Simd.KernelPath.Avx512))
            {
                a512 = new float[65536];
                for (var i = 0; i < 65536; i += 16) Simd.Avx512Dot.HalfToFloat(System.Runtime.Intrinsics.Vector256.Load(ph + i)).CopyTo(a512.AsSpan(i));
            }
            if (Simd.KernelDispatch.IsAvailable(Simd.KernelPath.Avx2))
            {
                a2 = new float[65536];
                for (var i = 0; i < 65536; i += 8) Simd.Avx2Dot.HalfToFloat(System.Runtime.Intrinsics.Vector128.Load(ph + i)).CopyTo(a2.AsSpan(i));
            }
        }
        return (a512, a2);
    }

    /// <summary>The scalar reference Σ w·x for one weight row against <paramref name="x"/> quantized as the format's activation.</summary>
    public static float DotScalar(GgmlType type, byte[] w, float[] x)
    {
        var f = QuantFormat.Of(type);
        var act = QuantizeActivation(f.Activation, x);
        fixed (byte* pw = w)
        fixed (byte* pa = act)
            return f.DotScalar(pw, Activations.Row(f.Activation, pa, x.Length), x.Length / f.BlockSize);
    }
}
