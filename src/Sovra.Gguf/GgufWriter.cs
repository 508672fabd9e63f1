using System.Buffers.Binary;
using System.Text;

namespace Sovra.Gguf;

/// <summary>
/// Writes GGUF v3 files that llama.cpp loads: typed metadata of every value type, tensor infos, and tensor data
/// aligned to <see cref="Alignment"/>. Tensor data is either given as bytes or streamed by a callback at write time,
/// so a multi-GiB model never has to be in memory at once. Keys and tensors are written in the order added.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _kv = [];
    private readonly Dictionary<string, int> _kvIndex = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dims, long Bytes, ReadOnlyMemory<byte>? Data, Action<Stream>? Writer);

    public GgufWriter(uint alignment = GgufLimits.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > GgufLimits.MaxAlignment)
            throw new ArgumentOutOfRangeException(nameof(alignment), "the alignment must be a power of two");
        Alignment = alignment;
        if (alignment != GgufLimits.DefaultAlignment) Set(WellKnownKeys.GeneralAlignment, GgufValue.FromUInt32(alignment));
    }

    public const uint Version = 3;

    public uint Alignment { get; }

    public int TensorCount => _tensors.Count;

    /// <summary>Adds a key, or replaces its value in place if it was set before.</summary>
    public GgufWriter Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (Encoding.UTF8.GetByteCount(key) > GgufLimits.MaxKeyBytes) throw new ArgumentException("the key is too long", nameof(key));
        if (key == WellKnownKeys.GeneralAlignment && (value.Type != GgufValueType.UInt32 || value.RawBits != Alignment))
            throw new ArgumentException("general.alignment is set by the constructor's alignment", nameof(value));
        if (_kvIndex.TryGetValue(key, out var i)) _kv[i] = new(key, value);
        else
        {
            _kvIndex[key] = _kv.Count;
            _kv.Add(new(key, value));
        }
        return this;
    }

    public GgufWriter Set(string key, string value) => Set(key, GgufValue.FromString(value));
    public GgufWriter Set(string key, uint value) => Set(key, GgufValue.FromUInt32(value));
    public GgufWriter Set(string key, int value) => Set(key, GgufValue.FromInt32(value));
    public GgufWriter Set(string key, float value) => Set(key, GgufValue.FromFloat32(value));
    public GgufWriter Set(string key, bool value) => Set(key, GgufValue.FromBool(value));

    /// <summary>Adds a tensor whose bytes are already encoded (exactly the type's size for the shape).</summary>
    public void AddTensor(string name, GgmlType type, long[] dims, ReadOnlyMemory<byte> data)
    {
        var bytes = CheckTensor(name, type, dims);
        if (data.Length != bytes) throw new ArgumentException($"tensor '{name}' needs {bytes} bytes, got {data.Length}", nameof(data));
        _tensors.Add(new(name, type, (long[])dims.Clone(), bytes, data, null));
        _names.Add(name);
    }

    /// <summary>Adds a tensor whose bytes <paramref name="writeData"/> writes to the stream it is given, at write time.</summary>
    public void AddTensor(string name, GgmlType type, long[] dims, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        var bytes = CheckTensor(name, type, dims);
        _tensors.Add(new(name, type, (long[])dims.Clone(), bytes, null, writeData));
        _names.Add(name);
    }

    /// <summary>Bytes of a tensor of this type and shape (ggml order, dims[0] the row length).</summary>
    public static long TensorBytes(GgmlType type, long[] dims)
    {
        long elements = 1;
        foreach (var d in dims) elements = checked(elements * d);
        return GgmlTypeInfo.Of(type).RowBytes(elements);
    }

    private long CheckTensor(string name, GgmlType type, long[] dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        if (Encoding.UTF8.GetByteCount(name) > GgufLimits.MaxTensorNameBytes)
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufLimits.MaxTensorNameBytes} bytes", nameof(name));
        if (_names.Contains(name)) throw new ArgumentException($"tensor '{name}' was added twice", nameof(name));
        if (dims.Length is 0 or > GgufLimits.MaxDimensions) throw new ArgumentException($"tensor '{name}' needs 1 to 4 dimensions", nameof(dims));
        if (dims.Any(d => d <= 0)) throw new ArgumentException($"tensor '{name}' has a dimension that is not positive", nameof(dims));
        var info = GgmlTypeInfo.Of(type);
        if (dims[0] % info.BlockSize != 0)
            throw new ArgumentException($"tensor '{name}' row length {dims[0]} is not a whole number of {info.Name} blocks of {info.BlockSize}", nameof(dims));
        return TensorBytes(type, dims);
    }

    /// <summary>Writes the file to <paramref name="path"/> through a temporary file, so a failed write leaves no half file.</summary>
    public void WriteFile(string path)
    {
        var tmp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                WriteTo(fs);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    public void WriteTo(Stream output)
    {
        var s = new CountingStream(output);
        var b8 = new byte[8];
        void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(b8, v); s.Write(b8, 0, 4); }
        void U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(b8, v); s.Write(b8, 0, 8); }

        U32(GgufParser.Magic);
        U32(Version);
        U64((ulong)_tensors.Count);
        U64((ulong)_kv.Count);
        foreach (var (key, value) in _kv)
        {
            WriteString(s, key);
            WriteU32(s, (uint)value.Type);
            WriteValue(s, value);
        }

        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (var i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            WriteString(s, t.Name);
            U32((uint)t.Dims.Length);
            foreach (var d in t.Dims) U64((ulong)d);
            U32((uint)t.Type);
            offsets[i] = offset;
            U64((ulong)offset);
            offset = checked(offset + Pad(t.Bytes));
        }
        WriteZeros(s, Pad(s.Count) - s.Count);

        var dataStart = s.Count;
        for (var i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            var before = s.Count;
            if (t.Data is { } data) s.Write(data.Span);
            else t.Writer!(new BoundedStream(s, t.Bytes, t.Name));
            if (s.Count - before != t.Bytes)
                throw new InvalidOperationException($"tensor '{t.Name}': {s.Count - before} bytes were written, {t.Bytes} expected");
            if (s.Count - dataStart != offsets[i] + t.Bytes) throw new InvalidOperationException("tensor data out of place");
            WriteZeros(s, Pad(t.Bytes) - t.Bytes); // after the last tensor too, as gguf.cpp writes it
        }
        s.Flush();
    }

    private long Pad(long n) => checked((n + Alignment - 1) / Alignment * Alignment);

    private static void WriteZeros(Stream s, long count)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (count > 0)
        {
            var n = (int)Math.Min(count, zeros.Length);
            s.Write(zeros[..n]);
            count -= n;
        }
    }

    private static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteString(Stream s, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)bytes.Length);
        s.Write(b);
        s.Write(bytes);
    }

    private static void WriteScalar(Stream s, GgufValueType type, ulong bits)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, bits);
        s.Write(b[..GgufValueTypes.FixedSize(type)]);
    }

    private static void WriteValue(Stream s, GgufValue v)
    {
        switch (v.Type)
        {
            case GgufValueType.String:
                WriteString(s, v.AsString());
                return;
            case GgufValueType.Array:
                WriteU32(s, (uint)v.ElementType);
                var raw = v.RawArray;
                Span<byte> b = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)raw.Length);
                s.Write(b);
                switch (raw)
                {
                    case string[] strings: foreach (var x in strings) WriteString(s, x); break;
                    case GgufValue[] arrays:
                        foreach (var a in arrays)
                        {
                            WriteU32(s, (uint)a.ElementType);
                            WriteArrayBody(s, a);
                        }
                        break;
                    case bool[] bools: foreach (var x in bools) s.WriteByte(x ? (byte)1 : (byte)0); break;
                    default: WriteNumeric(s, raw); break;
                }
                return;
            default:
                WriteScalar(s, v.Type, v.RawBits);
                return;
        }
    }

    // The body of a nested array after its element type: count, then elements.
    private static void WriteArrayBody(Stream s, GgufValue a)
    {
        using var ms = new MemoryStream();
        WriteValue(ms, a);
        s.Write(ms.GetBuffer().AsSpan(4, (int)ms.Length - 4));
    }

    private static void WriteNumeric(Stream s, Array raw)
    {
        switch (raw)
        {
            case byte[] a: s.Write(a); break;
            case sbyte[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ushort[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case short[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case uint[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case int[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case float[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ulong[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case long[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case double[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            default: throw new InvalidOperationException("unexpected array element type " + raw.GetType());
        }
    }

    /// <summary>Counts bytes written to the output (which may not be seekable).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Count;
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }

    /// <summary>What a tensor callback writes to: refuses to take more than the tensor's bytes.</summary>
    private sealed class BoundedStream(Stream inner, long limit, string name) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > limit)
                throw new InvalidOperationException($"tensor '{name}': the writer wrote more than its {limit} bytes");
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}
