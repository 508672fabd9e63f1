using System.IO.MemoryMappedFiles;

namespace Sovra.Gguf;

/// <summary>Where the parser reads bytes from: a memory-mapped file or a byte buffer. Every read is bounds-checked.</summary>
internal abstract class ByteSource
{
    public abstract long Length { get; }

    /// <summary>Copies <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; the caller has checked the range.</summary>
    public abstract void Read(long offset, Span<byte> destination);

    /// <summary>The bytes at [offset, offset+length) without a copy, when the source is a buffer.</summary>
    public virtual bool TryGetMemory(out ReadOnlyMemory<byte> memory)
    {
        memory = default;
        return false;
    }
}

internal sealed class MemorySource(ReadOnlyMemory<byte> bytes) : ByteSource
{
    public override long Length => bytes.Length;

    public override void Read(long offset, Span<byte> destination) => bytes.Span.Slice(checked((int)offset), destination.Length).CopyTo(destination);

    public override bool TryGetMemory(out ReadOnlyMemory<byte> memory)
    {
        memory = bytes;
        return true;
    }
}

/// <summary>A read-only view of a whole file; SafeBuffer.ReadSpan throws rather than read past the view.</summary>
internal sealed class MappedSource(MemoryMappedViewAccessor accessor, long length) : ByteSource
{
    public override long Length => length;

    public override void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > length - destination.Length) throw new ArgumentOutOfRangeException(nameof(offset));
        accessor.SafeMemoryMappedViewHandle.ReadSpan((ulong)(accessor.PointerOffset + offset), destination);
    }
}
