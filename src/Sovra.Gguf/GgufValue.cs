using System.Globalization;

namespace Sovra.Gguf;

/// <summary>
/// One metadata value: a scalar, a string, or an array (of scalars, of strings, or of arrays). Immutable.
/// Arrays keep their element type's natural .NET array (byte[], int[], float[], string[], ... ; arrays of arrays
/// are GgufValue[]), so a 150 000-entry vocabulary is one string[] and not 150 000 boxed values.
/// </summary>
public sealed class GgufValue
{
    private readonly ulong _bits; // integers (two's complement), bool (0/1), floats (IEEE bits)
    private readonly object? _ref; // string, or the element array of an array

    private GgufValue(GgufValueType type, ulong bits, object? reference, GgufValueType elementType = default)
    {
        Type = type;
        _bits = bits;
        _ref = reference;
        ElementType = elementType;
    }

    public GgufValueType Type { get; }

    /// <summary>For arrays, the type of the elements; meaningless otherwise.</summary>
    public GgufValueType ElementType { get; }

    public bool IsArray => Type == GgufValueType.Array;

    public bool IsInteger => GgufValueTypes.IsInteger(Type);

    public bool IsFloat => GgufValueTypes.IsFloat(Type);

    public static GgufValue FromUInt8(byte v) => new(GgufValueType.UInt8, v, null);
    public static GgufValue FromInt8(sbyte v) => new(GgufValueType.Int8, (ulong)(long)v, null);
    public static GgufValue FromUInt16(ushort v) => new(GgufValueType.UInt16, v, null);
    public static GgufValue FromInt16(short v) => new(GgufValueType.Int16, (ulong)(long)v, null);
    public static GgufValue FromUInt32(uint v) => new(GgufValueType.UInt32, v, null);
    public static GgufValue FromInt32(int v) => new(GgufValueType.Int32, (ulong)(long)v, null);
    public static GgufValue FromUInt64(ulong v) => new(GgufValueType.UInt64, v, null);
    public static GgufValue FromInt64(long v) => new(GgufValueType.Int64, (ulong)v, null);
    public static GgufValue FromFloat32(float v) => new(GgufValueType.Float32, BitConverter.SingleToUInt32Bits(v), null);
    public static GgufValue FromFloat64(double v) => new(GgufValueType.Float64, BitConverter.DoubleToUInt64Bits(v), null);
    public static GgufValue FromBool(bool v) => new(GgufValueType.Bool, v ? 1UL : 0UL, null);
    public static GgufValue FromString(string v) => new(GgufValueType.String, 0, v ?? throw new ArgumentNullException(nameof(v)));

    public static GgufValue FromArray(byte[] v) => Arr(GgufValueType.UInt8, v);
    public static GgufValue FromArray(sbyte[] v) => Arr(GgufValueType.Int8, v);
    public static GgufValue FromArray(ushort[] v) => Arr(GgufValueType.UInt16, v);
    public static GgufValue FromArray(short[] v) => Arr(GgufValueType.Int16, v);
    public static GgufValue FromArray(uint[] v) => Arr(GgufValueType.UInt32, v);
    public static GgufValue FromArray(int[] v) => Arr(GgufValueType.Int32, v);
    public static GgufValue FromArray(ulong[] v) => Arr(GgufValueType.UInt64, v);
    public static GgufValue FromArray(long[] v) => Arr(GgufValueType.Int64, v);
    public static GgufValue FromArray(float[] v) => Arr(GgufValueType.Float32, v);
    public static GgufValue FromArray(double[] v) => Arr(GgufValueType.Float64, v);
    public static GgufValue FromArray(bool[] v) => Arr(GgufValueType.Bool, v);
    public static GgufValue FromArray(string[] v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (Array.IndexOf(v, null) >= 0) throw new ArgumentException("a string array may not hold null", nameof(v));
        return Arr(GgufValueType.String, v);
    }

    /// <summary>An array whose elements are themselves arrays (GGUF allows it; llama.cpp reads none).</summary>
    public static GgufValue FromArray(GgufValue[] arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (var a in arrays)
            if (a is null || !a.IsArray) throw new ArgumentException("every element of an array of arrays must be an array", nameof(arrays));
        return Arr(GgufValueType.Array, arrays);
    }

    private static GgufValue Arr(GgufValueType element, Array values) =>
        new(GgufValueType.Array, 0, values ?? throw new ArgumentNullException(nameof(values)), element);

    /// <summary>Element count of an array.</summary>
    public int ArrayLength => _ref is Array a && IsArray ? a.Length : throw new InvalidOperationException($"a {TypeName} value is not an array");

    /// <summary>The element array: byte[] for uint8, int[] for int32, string[] for strings, GgufValue[] for arrays, ...</summary>
    public Array RawArray => IsArray ? (Array)_ref! : throw new InvalidOperationException($"a {TypeName} value is not an array");

    /// <summary>The element array when its .NET type is exactly <typeparamref name="T"/>[]; otherwise null.</summary>
    public T[]? ArrayAs<T>() => IsArray ? _ref as T[] : null;

    public string TypeName => IsArray ? $"array of {GgufValueTypes.Name(ElementType)}" : GgufValueTypes.Name(Type);

    /// <summary>An integer value of any width as long; false for non-integers and uint64 above long.MaxValue.</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        switch (Type)
        {
            case GgufValueType.UInt8 or GgufValueType.UInt16 or GgufValueType.UInt32:
            case GgufValueType.Int8 or GgufValueType.Int16 or GgufValueType.Int32 or GgufValueType.Int64:
                value = (long)_bits;
                return true;
            case GgufValueType.UInt64 when _bits <= long.MaxValue:
                value = (long)_bits;
                return true;
            default:
                return false;
        }
    }

    /// <summary>A float value (float32 or float64) as double.</summary>
    public bool TryGetDouble(out double value)
    {
        value = Type switch
        {
            GgufValueType.Float32 => BitConverter.UInt32BitsToSingle((uint)_bits),
            GgufValueType.Float64 => BitConverter.UInt64BitsToDouble(_bits),
            _ => double.NaN,
        };
        return IsFloat;
    }

    public bool TryGetBool(out bool value)
    {
        value = _bits != 0;
        return Type == GgufValueType.Bool;
    }

    public bool TryGetString(out string value)
    {
        value = _ref as string ?? "";
        return Type == GgufValueType.String;
    }

    /// <summary>The raw 64 bits of a scalar (two's complement for integers, IEEE bits for floats).</summary>
    public ulong RawBits => IsArray || Type == GgufValueType.String ? throw new InvalidOperationException("not a scalar") : _bits;

    public string AsString() => TryGetString(out var s) ? s : throw new InvalidOperationException($"a {TypeName} value is not a string");

    /// <summary>A short human-readable rendering (arrays: type and length).</summary>
    public override string ToString()
    {
        if (IsArray) return $"[{TypeName}; {ArrayLength}]";
        if (TryGetString(out var s)) return s;
        if (TryGetBool(out var b)) return b ? "true" : "false";
        if (Type == GgufValueType.UInt64) return _bits.ToString(CultureInfo.InvariantCulture);
        if (TryGetInt64(out var i)) return i.ToString(CultureInfo.InvariantCulture);
        TryGetDouble(out var d);
        return Type == GgufValueType.Float32 ? ((float)d).ToString("R", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);
    }

    internal static GgufValue Scalar(GgufValueType type, ulong bits) => new(type, bits, null);
}
