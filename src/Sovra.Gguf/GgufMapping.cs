using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Sovra.Gguf;

/// <summary>
/// The read-only memory mapping of a whole GGUF file, for code that reads tensor data through a pointer (Kernels).
/// The absolute file offset X lies at <c>pointer + PointerOffset + X</c>, where <c>pointer</c> comes from
/// <c>ViewHandle.AcquirePointer</c> (pair it with <c>ReleasePointer</c>). Every tensor extent has been checked to lie
/// inside [0, <see cref="Length"/>) before a <see cref="GgufFile"/> is handed out.
/// </summary>
public sealed class GgufMapping : IDisposable
{
    internal GgufMapping(MemoryMappedFile file, MemoryMappedViewAccessor accessor, long length)
    {
        File = file;
        Accessor = accessor;
        Length = length;
    }

    public MemoryMappedFile File { get; }

    public MemoryMappedViewAccessor Accessor { get; }

    public SafeMemoryMappedViewHandle ViewHandle => Accessor.SafeMemoryMappedViewHandle;

    /// <summary>Bytes between the view's base pointer and file offset 0 (0 for a whole-file view on current runtimes).</summary>
    public long PointerOffset => Accessor.PointerOffset;

    /// <summary>Bytes of the file (the view may be longer, rounded up to a page).</summary>
    public long Length { get; }

    /// <summary>Bytes from the view's base pointer to the first byte of <paramref name="tensor"/>'s data.</summary>
    public long PointerOffsetOf(GgufTensorInfo tensor) => PointerOffset + tensor.DataOffset;

    public void Dispose()
    {
        Accessor.Dispose();
        File.Dispose();
    }
}
