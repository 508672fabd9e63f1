using System.Runtime.CompilerServices;

namespace Sovra.Kernels.Formats;

/// <summary>Scalar conversions between float and the 16-bit float formats, rounded the way ggml rounds.</summary>
public static class Fp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>IEEE round to nearest even, as F16C and ggml's table conversion do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>The float that survives a round trip through F16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RoundToHalf(float value) => (float)(Half)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Bf16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round to nearest even, as ggml does; NaN stays a quiet NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToBf16(float value)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RoundToBf16(float value) => Bf16ToFloat(FloatToBf16(value));

    // All 65536 halves as floats (256 KiB, pinned): one load per block scale in the hot loops, as ggml does
    // on CPUs without F16C (.NET exposes no F16C conversion).
    private static readonly float[] HalfTableArray = BuildHalfTable();
    internal static readonly unsafe float* HalfTable = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref HalfTableArray[0]);

    private static float[] BuildHalfTable()
    {
        var t = GC.AllocateUninitializedArray<float>(65536, pinned: true);
        for (var i = 0; i < 65536; i++) t[i] = HalfToFloat((ushort)i);
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float LoadHalf(byte* p) => HalfTable[*(ushort*)p];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void StoreHalf(byte* p, float v) => *(ushort*)p = FloatToHalf(v);
}
