using System.Runtime.InteropServices;

namespace Sovra.Gguf;

/// <summary>What the parser found in a file: everything but the tensor bytes.</summary>
internal sealed record GgufLayout(
    uint Version, GgufMetadata Metadata, List<GgufTensorInfo> Tensors, uint Alignment, long DataOffset, long FileBytes);

/// <summary>
/// Parses and validates the header, metadata and tensor infos of a GGUF v2/v3 file. Every number read from the file
/// is checked before it is used: counts against the bytes that remain, lengths against caps, arithmetic checked,
/// tensor extents against the file and against each other. The only exception it lets out is
/// <see cref="GgufFormatException"/>.
/// </summary>
internal static class GgufParser
{
    public const uint Magic = 0x46554747; // "GGUF" read as little-endian u32
    public const int HeaderBytes = 24;

    // Fewest bytes one record can take, so a count can be checked against the bytes left before any loop or allocation.
    private const int MinKvBytes = 8 + 1 + 4 + 1;            // key length, 1-byte key, type, 1-byte value
    private const int MinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8; // name length, 1-byte name, n_dims, one dim, type, offset

    static GgufParser()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Sovra.Gguf needs a little-endian CPU");
    }

    public static GgufLayout Parse(ByteSource source)
    {
        var c = new GgufCursor(source);
        if (c.Length < HeaderBytes)
            throw new GgufFormatException("header", 0, $"the file is {c.Length} bytes; a GGUF header needs {HeaderBytes}");

        var magic = c.ReadU32("header.magic");
        if (magic != Magic)
            throw new GgufFormatException("header.magic", 0, $"not a GGUF file: the first bytes are {MagicText(magic)}, not 'GGUF'");
        var version = c.ReadU32("header.version");
        if (version is not (2 or 3))
        {
            var why = version switch
            {
                1 => "GGUF version 1 (32-bit counts) is obsolete and not supported",
                0x02000000 or 0x03000000 => "big-endian GGUF files are not supported",
                _ => $"GGUF version {version} is not supported (2 and 3 are)",
            };
            throw new GgufFormatException("header.version", 4, why);
        }
        var tensorCount = c.ReadU64("header.tensor_count");
        var kvCount = c.ReadU64("header.kv_count");
        var body = (ulong)(c.Length - HeaderBytes);
        if (tensorCount > body / MinTensorInfoBytes)
            throw new GgufFormatException("header.tensor_count", 8, $"{tensorCount} tensors cannot fit in a file of {c.Length} bytes");
        if (kvCount > body / MinKvBytes)
            throw new GgufFormatException("header.kv_count", 16, $"{kvCount} metadata keys cannot fit in a file of {c.Length} bytes");
        if (tensorCount * MinTensorInfoBytes + kvCount * MinKvBytes > body)
            throw new GgufFormatException("header.kv_count", 16,
                $"{kvCount} metadata keys and {tensorCount} tensors cannot fit in a file of {c.Length} bytes");

        var metadata = ReadMetadata(c, (int)kvCount);
        var alignment = ReadAlignment(metadata);
        var tensors = ReadTensorInfos(c, (int)tensorCount, alignment, out var dataOffset);
        WellKnownKeys.Validate(metadata);
        return new GgufLayout(version, metadata, tensors, alignment, dataOffset, c.Length);
    }

    private static string MagicText(uint magic)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, magic);
        return "0x" + Convert.ToHexString(b);
    }

    private static GgufMetadata ReadMetadata(GgufCursor c, int count)
    {
        var entries = new List<GgufMetadataEntry>(Math.Min(count, 1024));
        var byKey = new Dictionary<string, GgufMetadataEntry>(Math.Min(count, 1024), StringComparer.Ordinal);
        var section = c.Position;
        var budget = new MetadataBudget(section);
        for (var i = 0; i < count; i++)
        {
            var keyAt = c.Position;
            var key = c.ReadString($"metadata[{i}].key", GgufLimits.MaxKeyBytes, strict: true, allowEmpty: false);
            if (byKey.TryGetValue(key, out var first))
                throw new GgufFormatException(key, keyAt, $"the key '{key}' appears twice (first at byte {first.KeyOffset})");
            var valueAt = c.Position;
            var type = c.ReadU32(key + ".type");
            if (!GgufValueTypes.IsKnown(type))
                throw new GgufFormatException(key, valueAt, $"value type {type} of '{key}' is not a GGUF type");
            var value = ReadValue(c, (GgufValueType)type, key, 0, budget);
            if (c.Position - section > GgufLimits.MaxMetadataBytes)
                throw new GgufFormatException(key, valueAt, $"the metadata is over the limit of {GgufLimits.MaxMetadataBytes >> 20} MiB");
            var entry = new GgufMetadataEntry(key, value, keyAt, valueAt);
            entries.Add(entry);
            byKey.Add(key, entry);
        }
        return new GgufMetadata(entries, byKey, section);
    }

    /// <summary>Totals over the whole metadata section, so that memory stays bounded however the file splits it.</summary>
    private sealed class MetadataBudget(long sectionStart)
    {
        public long SectionStart { get; } = sectionStart;
        public long Elements { get; set; }
    }

    private static GgufValue ReadValue(GgufCursor c, GgufValueType type, string field, int depth, MetadataBudget budget)
    {
        switch (type)
        {
            case GgufValueType.String:
                return GgufValue.FromString(c.ReadString(field, GgufLimits.MaxStringBytes, strict: false));
            case GgufValueType.Array:
                return ReadArray(c, field, depth, budget);
            default:
                var size = GgufValueTypes.FixedSize(type);
                var bytes = c.Take(size, field);
                return GgufValue.Scalar(type, ScalarBits(type, bytes));
        }
    }

    private static ulong ScalarBits(GgufValueType type, ReadOnlySpan<byte> b) => type switch
    {
        GgufValueType.UInt8 => b[0],
        GgufValueType.Int8 => (ulong)(long)(sbyte)b[0],
        GgufValueType.Bool => b[0] != 0 ? 1UL : 0UL,
        GgufValueType.UInt16 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b),
        GgufValueType.Int16 => (ulong)(long)System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(b),
        GgufValueType.UInt32 or GgufValueType.Float32 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b),
        GgufValueType.Int32 => (ulong)(long)System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(b),
        _ => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b),
    };

    private static GgufValue ReadArray(GgufCursor c, string field, int depth, MetadataBudget budget)
    {
        var at = c.Position;
        var elementType = c.ReadU32(field + ".element_type");
        if (!GgufValueTypes.IsKnown(elementType))
            throw new GgufFormatException(field, at, $"array element type {elementType} is not a GGUF type");
        var et = (GgufValueType)elementType;
        var countAt = c.Position;
        var count = c.ReadU64(field + ".count");
        if (count > GgufLimits.MaxArrayElements)
            throw new GgufFormatException(field, countAt, $"array of {count} elements is over the limit of {GgufLimits.MaxArrayElements}");
        var min = (ulong)GgufValueTypes.MinEncodedSize(et);
        if (count * min > (ulong)Math.Max(0, c.Remaining))
            throw new GgufFormatException(field, countAt,
                $"array of {count} {GgufValueTypes.Name(et)} elements runs past the end of the file ({c.Remaining} bytes left)");
        if (c.Position + (long)(count * min) - budget.SectionStart > GgufLimits.MaxMetadataBytes)
            throw new GgufFormatException(field, countAt, $"array of {count} elements takes the metadata over the limit of {GgufLimits.MaxMetadataBytes >> 20} MiB");
        budget.Elements += (long)count;
        if (budget.Elements > GgufLimits.MaxTotalArrayElements)
            throw new GgufFormatException(field, countAt, $"the metadata holds more than {GgufLimits.MaxTotalArrayElements} array elements in all");
        var n = (int)count;
        switch (et)
        {
            case GgufValueType.String:
            {
                var items = new string[n];
                for (var i = 0; i < n; i++) items[i] = c.ReadString(new FieldName(field, i), GgufLimits.MaxStringBytes, strict: false);
                return GgufValue.FromArray(items);
            }
            case GgufValueType.Array:
            {
                if (depth + 1 >= GgufLimits.MaxArrayDepth)
                    throw new GgufFormatException(field, at, $"arrays are nested more than {GgufLimits.MaxArrayDepth} deep");
                var items = new GgufValue[n];
                for (var i = 0; i < n; i++) items[i] = ReadArray(c, $"{field}[{i}]", depth + 1, budget);
                return GgufValue.FromArray(items);
            }
            case GgufValueType.Bool:
            {
                var items = new bool[n];
                var bytes = new byte[n];
                Fill(c, bytes.AsSpan(), field);
                for (var i = 0; i < n; i++) items[i] = bytes[i] != 0;
                return GgufValue.FromArray(items);
            }
            case GgufValueType.UInt8: { var a = new byte[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.Int8: { var a = new sbyte[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.UInt16: { var a = new ushort[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.Int16: { var a = new short[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.UInt32: { var a = new uint[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.Int32: { var a = new int[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.Float32: { var a = new float[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.UInt64: { var a = new ulong[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            case GgufValueType.Int64: { var a = new long[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
            default: { var a = new double[n]; Fill(c, a.AsSpan(), field); return GgufValue.FromArray(a); }
        }
    }

    /// <summary>Fills a numeric array from the file (little-endian, as the host) in window-sized pieces.</summary>
    private static void Fill<T>(GgufCursor c, Span<T> destination, string field) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(destination);
        const int chunk = 1 << 20;
        for (var done = 0; done < bytes.Length; done += chunk)
        {
            var take = Math.Min(chunk, bytes.Length - done);
            c.Take(take, field).CopyTo(bytes.Slice(done, take));
        }
    }

    private static uint ReadAlignment(GgufMetadata metadata)
    {
        if (!metadata.TryGetEntry(WellKnownKeys.GeneralAlignment, out var e)) return GgufLimits.DefaultAlignment;
        // llama.cpp requires uint32 here; so does the format.
        if (e.Value.Type != GgufValueType.UInt32)
            throw GgufMetadata.Wrong(e, "a uint32");
        var a = (uint)e.Value.RawBits;
        if (a == 0 || (a & (a - 1)) != 0 || a > GgufLimits.MaxAlignment)
            throw new GgufFormatException(e.Key, e.ValueOffset, $"alignment {a} is not a power of two between 1 and {GgufLimits.MaxAlignment}");
        return a;
    }

    private static List<GgufTensorInfo> ReadTensorInfos(GgufCursor c, int count, uint alignment, out long dataOffset)
    {
        if ((ulong)count > (ulong)Math.Max(0, c.Remaining) / MinTensorInfoBytes)
            throw new GgufFormatException("header.tensor_count", 8,
                $"{count} tensor infos cannot fit in the {c.Remaining} bytes after the metadata");
        var infos = new List<(string Name, GgmlType Type, long[] Dims, long Elements, long Bytes, long Offset, long At, long OffsetAt)>(Math.Min(count, 4096));
        var names = new Dictionary<string, int>(Math.Min(count, 4096), StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var f = $"tensors[{i}]";
            var at = c.Position;
            var name = c.ReadString(f + ".name", GgufLimits.MaxTensorNameBytes, strict: true, allowEmpty: false);
            if (names.TryGetValue(name, out var firstIndex))
                throw new GgufFormatException(f + ".name", at, $"the tensor name '{name}' appears twice (first as tensor {firstIndex})");
            names.Add(name, i);

            var nDimsAt = c.Position;
            var nDims = c.ReadU32(f + ".n_dims");
            if (nDims is 0 or > GgufLimits.MaxDimensions)
                throw new GgufFormatException(f + ".n_dims", nDimsAt, $"tensor '{name}' has {nDims} dimensions; 1 to {GgufLimits.MaxDimensions} are allowed");
            var dims = new long[nDims];
            long elements = 1;
            for (var d = 0; d < nDims; d++)
            {
                var dimAt = c.Position;
                var raw = c.ReadU64($"{f}.dims[{d}]");
                if (raw > long.MaxValue)
                    throw new GgufFormatException($"{f}.dims[{d}]", dimAt, $"tensor '{name}' dimension {d} is negative ({(long)raw})");
                if (raw == 0)
                    throw new GgufFormatException($"{f}.dims[{d}]", dimAt, $"tensor '{name}' dimension {d} is zero");
                dims[d] = (long)raw;
                if (elements > long.MaxValue / dims[d])
                    throw new GgufFormatException($"{f}.dims[{d}]", dimAt, $"tensor '{name}' element count overflows 64 bits");
                elements *= dims[d];
            }

            var typeAt = c.Position;
            var typeId = c.ReadU32(f + ".type");
            if (!GgmlTypeInfo.TryGet(typeId, out var ti))
                throw new GgufFormatException(f + ".type", typeAt, $"tensor '{name}' has unknown type id {typeId}");
            if (dims[0] % ti.BlockSize != 0)
                throw new GgufFormatException($"{f}.dims[0]", nDimsAt + 4,
                    $"tensor '{name}' row length {dims[0]} is not a whole number of {ti.Name} blocks of {ti.BlockSize}");
            var blocks = elements / ti.BlockSize;
            if (blocks > long.MaxValue / ti.BlockBytes)
                throw new GgufFormatException(f + ".type", typeAt, $"tensor '{name}' byte size overflows 64 bits");
            var bytes = blocks * ti.BlockBytes;

            var offsetAt = c.Position;
            var rawOffset = c.ReadU64(f + ".offset");
            if (rawOffset > long.MaxValue)
                throw new GgufFormatException(f + ".offset", offsetAt, $"tensor '{name}' data offset {rawOffset} is beyond any file");
            var offset = (long)rawOffset;
            if (offset % alignment != 0)
                throw new GgufFormatException(f + ".offset", offsetAt, $"tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
            infos.Add((name, ti.Type, dims, elements, bytes, offset, at, offsetAt));
        }

        var end = c.Position;
        var pad = (alignment - end % alignment) % alignment;
        dataOffset = end + pad;
        var result = new List<GgufTensorInfo>(infos.Count);
        for (var i = 0; i < infos.Count; i++)
        {
            var t = infos[i];
            // dataOffset <= file length + alignment and offset <= long.MaxValue / 1: subtract instead of add to stay in range.
            if (t.Offset > c.Length - dataOffset || t.Bytes > c.Length - dataOffset - t.Offset)
                throw new GgufFormatException($"tensors[{i}].offset", t.OffsetAt,
                    $"tensor '{t.Name}' data ({t.Bytes} bytes at data offset {t.Offset}) runs past the end of the file ({c.Length} bytes, data section at {dataOffset})");
            result.Add(new GgufTensorInfo(i, t.Name, t.Type, t.Dims, t.Elements, t.Bytes, t.Offset, dataOffset + t.Offset, t.At));
        }

        var byOffset = result.OrderBy(t => t.RelativeOffset).ThenBy(t => t.Index).ToList();
        for (var i = 1; i < byOffset.Count; i++)
        {
            var prev = byOffset[i - 1];
            var cur = byOffset[i];
            if (prev.RelativeOffset + prev.ByteSize > cur.RelativeOffset)
                throw new GgufFormatException($"tensors[{cur.Index}].offset", infos[cur.Index].OffsetAt,
                    $"tensor '{cur.Name}' data at {cur.RelativeOffset} overlaps tensor '{prev.Name}' ({prev.RelativeOffset}..{prev.RelativeOffset + prev.ByteSize})");
        }
        return result;
    }
}
