using Sovra.Gguf;

namespace Sovra.Kernels.Formats;

/// <summary>
/// Converting between float values and the bytes of a tensor type (for the synthetic-model writer, embedding
/// lookups and tests). The per-format block code lives in Formats/Blocks; <see cref="QuantFormat"/> is the traits row.
/// </summary>
public static unsafe class QuantFormats
{
    public static bool CanQuantize(GgmlType type) => QuantFormat.IsSupported(type);

    public static bool CanDequantize(GgmlType type) => QuantFormat.IsSupported(type);

    /// <summary>Encodes <paramref name="src"/> (a whole number of blocks) as <paramref name="type"/> into <paramref name="dst"/>.</summary>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        var info = GgmlTypeInfo.Of(type);
        if (!QuantFormat.IsSupported(type)) throw new NotSupportedException($"quantizing to {info.Name} is not supported");
        if (dst.Length != info.RowBytes(src.Length))
            throw new ArgumentException($"{type}: {src.Length} values need {info.RowBytes(src.Length)} bytes, got {dst.Length}");
        var f = QuantFormat.Of(type);
        fixed (float* s = src)
        fixed (byte* d = dst)
            f.QuantizeRow(s, d, src.Length / f.BlockSize);
    }

    /// <summary>Decodes <paramref name="src"/> (bytes of <paramref name="type"/>) into <paramref name="dst"/>, exactly as ggml does.</summary>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        var info = GgmlTypeInfo.Of(type);
        if (!QuantFormat.IsSupported(type)) throw new NotSupportedException($"dequantizing {info.Name} is not supported");
        if (src.Length != info.RowBytes(dst.Length))
            throw new ArgumentException($"{type}: {dst.Length} values need {info.RowBytes(dst.Length)} bytes, got {src.Length}");
        var f = QuantFormat.Of(type);
        fixed (byte* s = src)
        fixed (float* d = dst)
            f.DequantizeRow(s, d, dst.Length / f.BlockSize);
    }

    /// <summary>Round to nearest even, as ggml does; NaN stays a quiet NaN.</summary>
    public static ushort FloatToBf16(float value) => Fp.FloatToBf16(value);
}
