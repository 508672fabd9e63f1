using System.Buffers.Binary;
using System.Text;

namespace Sovra.Gguf;

/// <summary>A field name for errors, formatted only when an error is raised (a vocabulary has 150 000 elements).</summary>
internal readonly record struct FieldName(string Base, long Index = -1, string? Suffix = null)
{
    public static implicit operator FieldName(string name) => new(name);

    public FieldName WithSuffix(string suffix) => this with { Suffix = suffix };

    public override string ToString() => (Index >= 0 ? $"{Base}[{Index}]" : Base) + Suffix;
}

/// <summary>
/// A forward reader over a <see cref="ByteSource"/> that never reads past its end: every take checks the bytes
/// left first and raises a <see cref="GgufFormatException"/> naming the field. A mapped file is read through a
/// window of at most a few MiB; a byte buffer is read in place.
/// </summary>
internal sealed class GgufCursor
{
    private const int WindowBytes = 1 << 20;
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly ByteSource _source;
    private ReadOnlyMemory<byte> _window;
    private long _windowStart;
    private byte[]? _buffer;

    public GgufCursor(ByteSource source)
    {
        _source = source;
        Length = source.Length;
        if (source.TryGetMemory(out var all)) _window = all;
    }

    public long Length { get; }

    public long Position { get; set; }

    public long Remaining => Length - Position;

    /// <summary>The next <paramref name="count"/> bytes; valid until the next take.</summary>
    public ReadOnlySpan<byte> Take(int count, FieldName field)
    {
        if (count < 0 || count > Remaining)
            throw new GgufFormatException(field.ToString(), Position,
                $"the file ends at byte {Length}, {count} bytes are needed here but only {Math.Max(0, Remaining)} remain");
        var start = Position - _windowStart;
        if (start < 0 || start + count > _window.Length)
        {
            var size = (int)Math.Min(Remaining, Math.Max(count, WindowBytes));
            if (_buffer == null || _buffer.Length < size) _buffer = new byte[Math.Max(size, WindowBytes)];
            _source.Read(Position, _buffer.AsSpan(0, size));
            _window = _buffer.AsMemory(0, size);
            _windowStart = Position;
            start = 0;
        }
        Position += count;
        return _window.Span.Slice((int)start, count);
    }

    public byte ReadU8(FieldName field) => Take(1, field)[0];

    public uint ReadU32(FieldName field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public ulong ReadU64(FieldName field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    /// <summary>A GGUF string (u64 length, then UTF-8 bytes). Strict: invalid UTF-8 is an error (keys, names).</summary>
    public string ReadString(FieldName field, long maxBytes, bool strict, bool allowEmpty = true)
    {
        var at = Position;
        var length = ReadU64(field.WithSuffix(".length"));
        if (length > (ulong)maxBytes)
            throw new GgufFormatException(field.ToString(), at, $"string length {length} is over the limit of {maxBytes} bytes");
        if (length > (ulong)Math.Max(0, Remaining))
            throw new GgufFormatException(field.ToString(), at, $"string length {length} runs past the end of the file ({Remaining} bytes left)");
        if (length == 0 && !allowEmpty)
            throw new GgufFormatException(field.ToString(), at, "the string is empty");
        var bytes = Take((int)length, field);
        if (!strict) return Encoding.UTF8.GetString(bytes);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new GgufFormatException(field.ToString(), at + 8, "the string is not valid UTF-8");
        }
    }
}
