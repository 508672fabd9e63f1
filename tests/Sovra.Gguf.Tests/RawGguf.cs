using System.Buffers.Binary;
using System.Text;

namespace Sovra.Gguf.Tests;

/// <summary>
/// Writes GGUF bytes field by field with no checks, so tests can build exactly the malformed file they mean.
/// <see cref="Mark"/> remembers where a field starts, for asserting the offset an error names.
/// </summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _s = new();
    private readonly Dictionary<string, long> _marks = [];

    public long Position => _s.Length;

    public RawGguf Mark(string name) { _marks[name] = _s.Length; return this; }

    public long At(string name) => _marks[name];

    public RawGguf Bytes(ReadOnlySpan<byte> b) { _s.Write(b); return this; }

    public RawGguf U8(byte v) { _s.WriteByte(v); return this; }

    public RawGguf U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Bytes(b); }

    public RawGguf I32(int v) => U32((uint)v);

    public RawGguf U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return Bytes(b); }

    public RawGguf I64(long v) => U64((ulong)v);

    public RawGguf F32(float v) => U32(BitConverter.SingleToUInt32Bits(v));

    public RawGguf Str(string s) { var b = Encoding.UTF8.GetBytes(s); U64((ulong)b.Length); return Bytes(b); }

    public RawGguf Header(ulong tensors, ulong kvs, uint version = 3) => Bytes("GGUF"u8).U32(version).U64(tensors).U64(kvs);

    public RawGguf KvU32(string key, uint v) => Str(key).U32((uint)GgufValueType.UInt32).U32(v);

    public RawGguf KvStr(string key, string v) => Str(key).U32((uint)GgufValueType.String).Str(v);

    public RawGguf KvF32(string key, float v) => Str(key).U32((uint)GgufValueType.Float32).F32(v);

    /// <summary>A tensor info: name, dims (ggml order), type id, data offset.</summary>
    public RawGguf Tensor(string name, long[] dims, uint type, ulong offset)
    {
        Str(name).U32((uint)dims.Length);
        foreach (var d in dims) I64(d);
        return U32(type).U64(offset);
    }

    public RawGguf PadTo(int alignment)
    {
        while (_s.Length % alignment != 0) _s.WriteByte(0);
        return this;
    }

    public RawGguf Zeros(long n)
    {
        for (long i = 0; i < n; i++) _s.WriteByte(0);
        return this;
    }

    public byte[] ToArray() => _s.ToArray();
}
