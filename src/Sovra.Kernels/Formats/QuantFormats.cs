using System.Buffers.Binary;
using Sovra.Gguf;

namespace Sovra.Kernels.Formats;

/// <summary>
/// Converting between float values and the bytes of a tensor type. One entry per format; the kernels
/// that compute directly on the blocks live beside their format.
/// </summary>
public static class QuantFormats
{
    public static bool CanQuantize(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0;

    public static bool CanDequantize(GgmlType type) => CanQuantize(type);

    /// <summary>Encodes <paramref name="src"/> (a whole number of blocks) as <paramref name="type"/> into <paramref name="dst"/>.</summary>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        var info = GgmlTypeInfo.Of(type);
        if (dst.Length != info.RowBytes(src.Length))
            throw new ArgumentException($"{type}: {src.Length} values need {info.RowBytes(src.Length)} bytes, got {dst.Length}");
        switch (type)
        {
            case GgmlType.F32:
                for (var i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
                break;
            case GgmlType.F16:
                for (var i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
                break;
            case GgmlType.BF16:
                for (var i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], FloatToBf16(src[i]));
                break;
            case GgmlType.Q8_0:
                QuantizeQ8_0(src, dst);
                break;
            default:
                throw new NotSupportedException($"quantizing to {type} is not supported");
        }
    }

    /// <summary>Decodes <paramref name="src"/> (bytes of <paramref name="type"/>) into <paramref name="dst"/>.</summary>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        var info = GgmlTypeInfo.Of(type);
        if (src.Length != info.RowBytes(dst.Length))
            throw new ArgumentException($"{type}: {dst.Length} values need {info.RowBytes(dst.Length)} bytes, got {src.Length}");
        switch (type)
        {
            case GgmlType.F32:
                for (var i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case GgmlType.F16:
                for (var i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            case GgmlType.BF16:
                for (var i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                break;
            case GgmlType.Q8_0:
                for (var b = 0; b < dst.Length / 32; b++)
                {
                    var block = src.Slice(b * 34, 34);
                    var d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (var j = 0; j < 32; j++) dst[b * 32 + j] = d * (sbyte)block[2 + j];
                }
                break;
            default:
                throw new NotSupportedException($"dequantizing {type} is not supported");
        }
    }

    /// <summary>Round to nearest even, as ggml does; NaN stays a quiet NaN.</summary>
    public static ushort FloatToBf16(float value)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }

    private static void QuantizeQ8_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (var b = 0; b < src.Length / 32; b++)
        {
            var x = src.Slice(b * 32, 32);
            var amax = 0f;
            foreach (var v in x) amax = MathF.Max(amax, MathF.Abs(v));
            var d = amax / 127f;
            var id = d != 0 ? 1f / d : 0f;
            var block = dst.Slice(b * 34, 34);
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (var j = 0; j < 32; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }
}
