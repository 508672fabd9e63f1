using System.Buffers.Binary;
using Sovra.Gguf;

namespace Sovra.Kernels.Formats;

/// <summary>Managed entry points onto the pointer kernels, for tests and benchmarks (which have no unsafe code).</summary>
internal static unsafe class KernelProbe
{
    /// <summary>Quantizes <paramref name="x"/> as activations and returns the backing bytes plus the row view's layout.</summary>
    public static byte[] QuantizeActivation(ActivationKind kind, float[] x)
    {
        var bytes = new byte[Activations.RowBytes(kind, x.Length)];
        fixed (float* px = x)
        fixed (byte* pb = bytes)
            Activations.Quantize(kind, px, x.Length, Activations.Row(kind, pb, x.Length));
        return bytes;
    }

    /// <summary>The activation row re-encoded as ggml's block_q8_0 / block_q8_1 / block_q8_K bytes.</summary>
    public static byte[] ActivationAsGgml(ActivationKind kind, float[] x)
    {
        var bytes = QuantizeActivation(kind, x);
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
