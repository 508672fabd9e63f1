namespace Sovra.Gguf;

/// <summary>
/// The one error a malformed or hostile GGUF file raises: which field is wrong and where it starts in the file.
/// </summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string field, long byteOffset, string problem)
        : base($"{problem} ({field}, at byte {byteOffset})")
    {
        Field = field;
        ByteOffset = byteOffset;
        Problem = problem;
    }

    /// <summary>The field at fault, e.g. <c>header.tensor_count</c>, <c>tensors[3].dims[1]</c>, <c>general.alignment</c>.</summary>
    public string Field { get; }

    /// <summary>Absolute offset in the file where the field starts.</summary>
    public long ByteOffset { get; }

    /// <summary>The problem without the field and offset.</summary>
    public string Problem { get; }
}
