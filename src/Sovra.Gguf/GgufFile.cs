using System.IO.MemoryMappedFiles;

namespace Sovra.Gguf;

/// <summary>
/// An open, validated GGUF file (v2 or v3): its metadata, its tensor infos, and its tensor data memory-mapped
/// (never copied). Opening fails with <see cref="GgufFormatException"/> for any malformed or hostile file.
/// </summary>
public sealed class GgufFile : IDisposable
{
    private readonly ByteSource _source;
    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private ModelMetadata? _model;

    private GgufFile(GgufLayout layout, ByteSource source, GgufMapping? mapping, string? path)
    {
        _source = source;
        Version = layout.Version;
        Metadata = layout.Metadata;
        Tensors = layout.Tensors;
        Alignment = layout.Alignment;
        DataOffset = layout.DataOffset;
        FileBytes = layout.FileBytes;
        Mapping = mapping;
        Path = path;
        _byName = layout.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Maps and validates the file at <paramref name="path"/>.</summary>
    public static GgufFile Open(string path)
    {
        var length = new FileInfo(path).Length; // FileNotFoundException for a missing file, as File.Open would
        if (length < GgufParser.HeaderBytes)
            throw new GgufFormatException("header", 0, $"the file is {length} bytes; a GGUF header needs {GgufParser.HeaderBytes}");
        var mmf = MemoryMappedFile.CreateFromFile(
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete),
            mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? accessor = null;
        try
        {
            accessor = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            var mapping = new GgufMapping(mmf, accessor, length);
            var source = new MappedSource(accessor, length);
            return new GgufFile(GgufParser.Parse(source), source, mapping, path);
        }
        catch
        {
            accessor?.Dispose();
            mmf.Dispose();
            throw;
        }
    }

    /// <summary>Validates a GGUF file held in memory (tests, the fuzzer, downloads not yet on disk). The same checks as <see cref="Open"/>.</summary>
    public static GgufFile Parse(ReadOnlyMemory<byte> bytes)
    {
        var source = new MemorySource(bytes);
        return new GgufFile(GgufParser.Parse(source), source, null, null);
    }

    /// <summary>The path given to <see cref="Open"/>; null for a file parsed from memory.</summary>
    public string? Path { get; }

    /// <summary>2 or 3.</summary>
    public uint Version { get; }

    public GgufMetadata Metadata { get; }

    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>general.alignment, or 32.</summary>
    public uint Alignment { get; }

    /// <summary>Absolute offset of the data section (each tensor's DataOffset already includes it).</summary>
    public long DataOffset { get; }

    public long FileBytes { get; }

    /// <summary>The memory mapping, for pointer access to tensor data; null for a file parsed from memory.</summary>
    public GgufMapping? Mapping { get; }

    /// <summary>The typed model view (architecture, shapes, tokenizer); throws <see cref="GgufFormatException"/> if general.architecture is missing.</summary>
    public ModelMetadata Model => _model ??= new ModelMetadata(Metadata, this);

    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Copies bytes of the file at an absolute offset; the range must lie inside the file.</summary>
    public void ReadBytes(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || offset > FileBytes - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + destination.Length}) are not inside the file of {FileBytes} bytes");
        _source.Read(offset, destination);
    }

    /// <summary>Copies a tensor's bytes into <paramref name="destination"/> (exactly ByteSize long).</summary>
    public void ReadTensor(GgufTensorInfo tensor, Span<byte> destination)
    {
        if (destination.Length != tensor.ByteSize)
            throw new ArgumentException($"tensor '{tensor.Name}' has {tensor.ByteSize} bytes; the destination has {destination.Length}", nameof(destination));
        ReadBytes(tensor.DataOffset, destination);
    }

    /// <summary>A copy of a small tensor's bytes (under 2 GiB).</summary>
    public byte[] ReadTensorBytes(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > Array.MaxLength)
            throw new InvalidOperationException($"tensor '{tensor.Name}' ({tensor.ByteSize} bytes) is too large to copy; read it through Mapping");
        var bytes = new byte[tensor.ByteSize];
        ReadTensor(tensor, bytes);
        return bytes;
    }

    /// <summary>The bytes of a tensor without a copy, for a file parsed from memory; false for a mapped file.</summary>
    public bool TryGetTensorMemory(GgufTensorInfo tensor, out ReadOnlyMemory<byte> memory)
    {
        memory = default;
        if (!_source.TryGetMemory(out var all)) return false;
        memory = all.Slice(checked((int)tensor.DataOffset), checked((int)tensor.ByteSize));
        return true;
    }

    private bool _disposed;

    public void Dispose()
    {
        _disposed = true;
        Mapping?.Dispose();
    }
}
