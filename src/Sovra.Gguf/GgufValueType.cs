namespace Sovra.Gguf;

/// <summary>Metadata value types as GGUF numbers them (gguf_type).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

internal static class GgufValueTypes
{
    public const uint Count = 13;

    public static bool IsKnown(uint type) => type < Count;

    public static bool IsInteger(GgufValueType t) => t is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16
        or GgufValueType.Int16 or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    public static bool IsFloat(GgufValueType t) => t is GgufValueType.Float32 or GgufValueType.Float64;

    /// <summary>Bytes of a fixed-size value; 0 for strings and arrays.</summary>
    public static int FixedSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>Fewest bytes one value of the type takes in a file (a string: its 8-byte length; an array: type + count).</summary>
    public static int MinEncodedSize(GgufValueType t) => t switch
    {
        GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => FixedSize(t),
    };

    public static string Name(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => "uint8", GgufValueType.Int8 => "int8", GgufValueType.UInt16 => "uint16",
        GgufValueType.Int16 => "int16", GgufValueType.UInt32 => "uint32", GgufValueType.Int32 => "int32",
        GgufValueType.Float32 => "float32", GgufValueType.Bool => "bool", GgufValueType.String => "string",
        GgufValueType.Array => "array", GgufValueType.UInt64 => "uint64", GgufValueType.Int64 => "int64",
        GgufValueType.Float64 => "float64", _ => $"type {(uint)t}",
    };
}
