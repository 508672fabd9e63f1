using Sovra.Gguf;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Formats;

/// <summary>
/// One traits row: a weight format, its block geometry, the activation form it is multiplied with, and the
/// scalar reference kernels (row dequantize / quantize / dot). SIMD kernels are chosen per row by
/// <see cref="Sovra.Kernels.Simd.KernelDispatch"/> and must agree with the scalar reference.
/// </summary>
public sealed unsafe class QuantFormat
{
    public GgmlType Type { get; }
    /// <summary>Values per block (1 for the float formats).</summary>
    public int BlockSize { get; }
    public int BlockBytes { get; }
    public ActivationKind Activation { get; }

    /// <summary>(src bytes, dst floats, blocks)</summary>
    internal readonly delegate*<byte*, float*, int, void> DequantizeRow;
    /// <summary>(src floats, dst bytes, blocks)</summary>
    internal readonly delegate*<float*, byte*, int, void> QuantizeRow;
    /// <summary>(weight row bytes, activation row, blocks) → Σ w·x, the scalar reference.</summary>
    internal readonly delegate*<byte*, in ActRow, int, float> DotScalar;

    private QuantFormat(GgmlType type, ActivationKind activation, delegate*<byte*, float*, int, void> dequantize,
        delegate*<float*, byte*, int, void> quantize, delegate*<byte*, in ActRow, int, float> dot)
    {
        var info = GgmlTypeInfo.Of(type);
        Type = type;
        BlockSize = info.BlockSize;
        BlockBytes = info.BlockBytes;
        Activation = activation;
        DequantizeRow = dequantize;
        QuantizeRow = quantize;
        DotScalar = dot;
    }

    public long RowBytes(int cols) => checked(cols / BlockSize * (long)BlockBytes);

    private static readonly QuantFormat[] Rows =
    [
        new(GgmlType.F32, ActivationKind.F32, &F32Block.DequantizeRow, &F32Block.QuantizeRow, &F32Block.Dot),
        new(GgmlType.F16, ActivationKind.F16Rounded, &F16Block.DequantizeRow, &F16Block.QuantizeRow, &F16Block.Dot),
        new(GgmlType.BF16, ActivationKind.Bf16Rounded, &Bf16Block.DequantizeRow, &Bf16Block.QuantizeRow, &Bf16Block.Dot),
        new(GgmlType.Q8_0, ActivationKind.Q8_0, &Q8_0Block.DequantizeRow, &Q8_0Block.QuantizeRow, &Q8_0Block.Dot),
        new(GgmlType.Q4_0, ActivationKind.Q8_0, &Q4_0Block.DequantizeRow, &Q4_0Block.QuantizeRow, &Q4_0Block.Dot),
        new(GgmlType.Q4_1, ActivationKind.Q8_1, &Q4_1Block.DequantizeRow, &Q4_1Block.QuantizeRow, &Q4_1Block.Dot),
        new(GgmlType.Q5_0, ActivationKind.Q8_0, &Q5_0Block.DequantizeRow, &Q5_0Block.QuantizeRow, &Q5_0Block.Dot),
        new(GgmlType.Q5_1, ActivationKind.Q8_1, &Q5_1Block.DequantizeRow, &Q5_1Block.QuantizeRow, &Q5_1Block.Dot),
        new(GgmlType.Q4_K, ActivationKind.Q8_K, &Q4_KBlock.DequantizeRow, &Q4_KBlock.QuantizeRow, &Q4_KBlock.Dot),
        new(GgmlType.Q5_K, ActivationKind.Q8_K, &Q5_KBlock.DequantizeRow, &Q5_KBlock.QuantizeRow, &Q5_KBlock.Dot),
        new(GgmlType.Q6_K, ActivationKind.Q8_K, &Q6_KBlock.DequantizeRow, &Q6_KBlock.QuantizeRow, &Q6_KBlock.Dot),
    ];

    private static readonly QuantFormat?[] ByType = BuildIndex();

    private static QuantFormat?[] BuildIndex()
    {
        var index = new QuantFormat?[64];
        foreach (var r in Rows) index[(int)r.Type] = r;
        return index;
    }

    /// <summary>Every weight format the kernels compute on.</summary>
    public static IReadOnlyList<QuantFormat> All => Rows;

    public static bool IsSupported(GgmlType type) => (uint)type < ByType.Length && ByType[(int)type] != null;

    public static QuantFormat Of(GgmlType type) =>
        (uint)type < ByType.Length && ByType[(int)type] is { } f ? f
            : throw new NotSupportedException($"tensor type {GgmlTypeInfo.Of(type).Name} is not supported by the kernels");
}
