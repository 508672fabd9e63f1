namespace Sovra.Gguf;

/// <summary>
/// One tensor as the file describes it, already validated: known type, 1..4 dimensions all &gt; 0, row length a
/// whole number of blocks, and its bytes inside the file, aligned, overlapping no other tensor.
/// </summary>
/// <param name="Dimensions">ggml order: Dimensions[0] (ne[0]) is the row length, the fastest-varying index.</param>
/// <param name="ByteSize">Bytes of the tensor's data (whole blocks, no padding).</param>
/// <param name="RelativeOffset">Offset from the start of the data section, as stored in the file.</param>
/// <param name="DataOffset">Absolute offset of the first data byte in the file.</param>
/// <param name="InfoOffset">Absolute offset of this tensor's info record (for error messages).</param>
public sealed record GgufTensorInfo(
    int Index, string Name, GgmlType Type, long[] Dimensions, long Elements, long ByteSize,
    long RelativeOffset, long DataOffset, long InfoOffset)
{
    public GgmlTypeInfo TypeInfo => GgmlTypeInfo.Of(Type);

    /// <summary>Elements in one row (ne[0]).</summary>
    public long RowLength => Dimensions[0];

    /// <summary>Rows: the product of every dimension after the first.</summary>
    public long Rows => Elements / Dimensions[0];

    /// <summary>Bytes of one row.</summary>
    public long RowBytes => ByteSize / Rows;

    /// <summary>Shape as ggml prints it, e.g. [1024, 151936].</summary>
    public string ShapeText => "[" + string.Join(", ", Dimensions) + "]";
}
