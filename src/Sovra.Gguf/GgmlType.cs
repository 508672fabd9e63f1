namespace Sovra.Gguf;

/// <summary>
/// Tensor element types as GGUF numbers them (ggml's <c>ggml_type</c>). Gaps are ids that ggml removed;
/// a file that uses one is rejected as an unknown type. Checked against ggml.h / ggml-common.h (ids 0-42, block
/// sizes and block bytes from the block structs).
/// </summary>
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3,
    Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
}

/// <summary>Name, block size (elements) and block bytes of one <see cref="GgmlType"/>.</summary>
public readonly record struct GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int BlockBytes)
{
    /// <summary>Bytes of <paramref name="elements"/> values; the count must be a whole number of blocks.</summary>
    public long RowBytes(long elements)
    {
        if (elements < 0 || elements % BlockSize != 0)
            throw new ArgumentException($"{elements} elements is not a whole number of {Name} blocks of {BlockSize}", nameof(elements));
        return checked(elements / BlockSize * BlockBytes);
    }

    public bool IsQuantized => BlockSize > 1;

    private static readonly Dictionary<GgmlType, GgmlTypeInfo> ById = new GgmlTypeInfo[]
    {
        new(GgmlType.F32, "F32", 1, 4), new(GgmlType.F16, "F16", 1, 2),
        new(GgmlType.Q4_0, "Q4_0", 32, 18), new(GgmlType.Q4_1, "Q4_1", 32, 20),
        new(GgmlType.Q5_0, "Q5_0", 32, 22), new(GgmlType.Q5_1, "Q5_1", 32, 24),
        new(GgmlType.Q8_0, "Q8_0", 32, 34), new(GgmlType.Q8_1, "Q8_1", 32, 36),
        new(GgmlType.Q2_K, "Q2_K", 256, 84), new(GgmlType.Q3_K, "Q3_K", 256, 110),
        new(GgmlType.Q4_K, "Q4_K", 256, 144), new(GgmlType.Q5_K, "Q5_K", 256, 176),
        new(GgmlType.Q6_K, "Q6_K", 256, 210), new(GgmlType.Q8_K, "Q8_K", 256, 292),
        new(GgmlType.IQ2_XXS, "IQ2_XXS", 256, 66), new(GgmlType.IQ2_XS, "IQ2_XS", 256, 74),
        new(GgmlType.IQ3_XXS, "IQ3_XXS", 256, 98), new(GgmlType.IQ1_S, "IQ1_S", 256, 50),
        new(GgmlType.IQ4_NL, "IQ4_NL", 32, 18), new(GgmlType.IQ3_S, "IQ3_S", 256, 110),
        new(GgmlType.IQ2_S, "IQ2_S", 256, 82), new(GgmlType.IQ4_XS, "IQ4_XS", 256, 136),
        new(GgmlType.I8, "I8", 1, 1), new(GgmlType.I16, "I16", 1, 2), new(GgmlType.I32, "I32", 1, 4),
        new(GgmlType.I64, "I64", 1, 8), new(GgmlType.F64, "F64", 1, 8),
        new(GgmlType.IQ1_M, "IQ1_M", 256, 56), new(GgmlType.BF16, "BF16", 1, 2),
        new(GgmlType.TQ1_0, "TQ1_0", 256, 54), new(GgmlType.TQ2_0, "TQ2_0", 256, 66),
        new(GgmlType.MXFP4, "MXFP4", 32, 17), new(GgmlType.NVFP4, "NVFP4", 64, 36),
        new(GgmlType.Q1_0, "Q1_0", 128, 18), new(GgmlType.Q2_0, "Q2_0", 64, 18),
    }.ToDictionary(i => i.Type);

    public static IReadOnlyCollection<GgmlTypeInfo> All => ById.Values;

    public static bool TryGet(uint id, out GgmlTypeInfo info) => ById.TryGetValue((GgmlType)id, out info);

    public static GgmlTypeInfo Of(GgmlType type) =>
        ById.TryGetValue(type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), $"unknown ggml type {(uint)type}");

    public static bool TryParse(string name, out GgmlTypeInfo info)
    {
        foreach (var i in ById.Values)
            if (string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase)) { info = i; return true; }
        info = default;
        return false;
    }
}
