using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Sovra.Gguf;

/// <summary>One key/value pair and where it lies in the file.</summary>
public sealed record GgufMetadataEntry(string Key, GgufValue Value, long KeyOffset, long ValueOffset);

/// <summary>
/// The metadata of a GGUF file in file order, with lookup by key and typed getters. A typed getter returns false
/// (or null) when the key is absent and throws <see cref="GgufFormatException"/> naming the key and its byte offset
/// when the key is present with a value of the wrong type or out of range.
/// </summary>
public sealed class GgufMetadata : IReadOnlyList<GgufMetadataEntry>
{
    private readonly List<GgufMetadataEntry> _entries;
    private readonly Dictionary<string, GgufMetadataEntry> _byKey;

    internal GgufMetadata(List<GgufMetadataEntry> entries, Dictionary<string, GgufMetadataEntry> byKey, long sectionOffset)
    {
        _entries = entries;
        _byKey = byKey;
        SectionOffset = sectionOffset;
    }

    /// <summary>Where the first key starts (24 in every GGUF v2/v3 file).</summary>
    public long SectionOffset { get; }

    public int Count => _entries.Count;

    public GgufMetadataEntry this[int index] => _entries[index];

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    public bool TryGetEntry(string key, [NotNullWhen(true)] out GgufMetadataEntry? entry) => _byKey.TryGetValue(key, out entry);

    public bool TryGetValue(string key, [NotNullWhen(true)] out GgufValue? value)
    {
        value = _byKey.TryGetValue(key, out var e) ? e.Value : null;
        return value != null;
    }

    /// <summary>The value of a key that must be present.</summary>
    public GgufValue this[string key] => Require(key).Value;

    public GgufMetadataEntry Require(string key) =>
        _byKey.TryGetValue(key, out var e) ? e : throw new GgufFormatException(key, SectionOffset, $"the required key '{key}' is missing");

    public bool TryGetString(string key, [NotNullWhen(true)] out string? value)
    {
        value = null;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (!e.Value.TryGetString(out var s)) throw Wrong(e, "a string");
        value = s;
        return true;
    }

    public string? GetStringOrNull(string key) => TryGetString(key, out var s) ? s : null;

    public string GetString(string key) => TryGetString(key, out var s) ? s : throw Missing(key);

    /// <summary>Any integer type whose value lies in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public bool TryGetInteger(string key, long min, long max, out long value)
    {
        value = 0;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (!e.Value.TryGetInt64(out value))
        {
            if (e.Value.Type == GgufValueType.UInt64) throw new GgufFormatException(key, e.ValueOffset, $"{e.Value} is out of range [{min}, {max}]");
            throw Wrong(e, "an integer");
        }
        if (value < min || value > max) throw new GgufFormatException(key, e.ValueOffset, $"{value} is out of range [{min}, {max}]");
        return true;
    }

    public bool TryGetUInt32(string key, out uint value)
    {
        var ok = TryGetInteger(key, 0, uint.MaxValue, out var v);
        value = (uint)v;
        return ok;
    }

    public uint? GetUInt32OrNull(string key) => TryGetUInt32(key, out var v) ? v : null;

    public uint GetUInt32(string key) => TryGetUInt32(key, out var v) ? v : throw Missing(key);

    public bool TryGetInt64(string key, out long value) => TryGetInteger(key, long.MinValue, long.MaxValue, out value);

    public bool TryGetUInt64(string key, out ulong value)
    {
        value = 0;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (e.Value.Type == GgufValueType.UInt64) { value = e.Value.RawBits; return true; }
        if (!e.Value.TryGetInt64(out var v)) throw Wrong(e, "an integer");
        if (v < 0) throw new GgufFormatException(key, e.ValueOffset, $"{v} is negative");
        value = (ulong)v;
        return true;
    }

    /// <summary>A float32 or float64 value.</summary>
    public bool TryGetDouble(string key, out double value)
    {
        value = 0;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (!e.Value.TryGetDouble(out value)) throw Wrong(e, "a float");
        return true;
    }

    public bool TryGetFloat32(string key, out float value)
    {
        var ok = TryGetDouble(key, out var d);
        value = (float)d;
        return ok;
    }

    public float? GetFloat32OrNull(string key) => TryGetFloat32(key, out var v) ? v : null;

    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (!e.Value.TryGetBool(out value)) throw Wrong(e, "a bool");
        return true;
    }

    public bool? GetBoolOrNull(string key) => TryGetBool(key, out var v) ? v : null;

    public bool TryGetStringArray(string key, [NotNullWhen(true)] out string[]? value)
    {
        value = null;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        value = e.Value.ArrayAs<string>() ?? throw Wrong(e, "an array of strings");
        return true;
    }

    /// <summary>An array of any integer type whose elements all fit in int32.</summary>
    public bool TryGetInt32Array(string key, [NotNullWhen(true)] out int[]? value)
    {
        value = null;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        var v = e.Value;
        if (!v.IsArray || !GgufValueTypes.IsInteger(v.ElementType)) throw Wrong(e, "an array of integers");
        if (v.ArrayAs<int>() is { } ints) { value = ints; return true; }
        var raw = v.RawArray;
        var result = new int[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            var x = Convert.ToDecimal(raw.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            if (x < int.MinValue || x > int.MaxValue)
                throw new GgufFormatException($"{key}[{i}]", e.ValueOffset, $"element {x} does not fit in int32");
            result[i] = (int)x;
        }
        value = result;
        return true;
    }

    /// <summary>An array of float32 (float64 elements are narrowed).</summary>
    public bool TryGetFloat32Array(string key, [NotNullWhen(true)] out float[]? value)
    {
        value = null;
        if (!_byKey.TryGetValue(key, out var e)) return false;
        if (e.Value.ArrayAs<float>() is { } f) { value = f; return true; }
        if (e.Value.ArrayAs<double>() is { } d) { value = Array.ConvertAll(d, x => (float)x); return true; }
        throw Wrong(e, "an array of floats");
    }

    internal static GgufFormatException Wrong(GgufMetadataEntry e, string expected) =>
        new(e.Key, e.ValueOffset, $"'{e.Key}' must be {expected}, but the file has {e.Value.TypeName}");

    private GgufFormatException Missing(string key) => new(key, SectionOffset, $"the required key '{key}' is missing");

    public IEnumerator<GgufMetadataEntry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
