using System.Runtime.Intrinsics;

namespace Sovra.Kernels.Formats.Blocks;

/// <summary>F32: little-endian IEEE floats. Pairs with F32 activations.</summary>
internal static unsafe class F32Block
{
    public static void DequantizeRow(byte* src, float* dst, int n) => Buffer.MemoryCopy(src, dst, 4L * n, 4L * n);

    public static void QuantizeRow(float* src, byte* dst, int n) => Buffer.MemoryCopy(src, dst, 4L * n, 4L * n);

    public static float Dot(byte* w, in ActRow a, int n)
    {
        var x = (float*)w;
        var s = 0f;
        for (var i = 0; i < n; i++) s += x[i] * a.F[i];
        return s;
    }
}

/// <summary>F16: IEEE half floats. Pairs with F16-rounded activations (ggml converts them to F16).</summary>
internal static unsafe class F16Block
{
    public static void DequantizeRow(byte* src, float* dst, int n)
    {
        var h = (ushort*)src;
        var i = 0;
        // The vector conversion is exact for every half (tests compare it bit for bit with ggml's).
        if (Simd.Avx2Dot.IsSupported)
            for (; i + 8 <= n; i += 8) Simd.Avx2Dot.HalfToFloat(Vector128.Load(h + i)).Store(dst + i);
        for (; i < n; i++) dst[i] = Fp.HalfTable[h[i]];
    }

    public static void QuantizeRow(float* src, byte* dst, int n)
    {
        var h = (ushort*)dst;
        for (var i = 0; i < n; i++) h[i] = Fp.FloatToHalf(src[i]);
    }

    public static float Dot(byte* w, in ActRow a, int n)
    {
        var h = (ushort*)w;
        var s = 0f;
        for (var i = 0; i < n; i++) s += Fp.HalfToFloat(h[i]) * a.F[i];
        return s;
    }
}

/// <summary>BF16: the top 16 bits of an IEEE float. Pairs with BF16-rounded activations.</summary>
internal static unsafe class Bf16Block
{
    public static void DequantizeRow(byte* src, float* dst, int n)
    {
        var h = (ushort*)src;
        for (var i = 0; i < n; i++) dst[i] = Fp.Bf16ToFloat(h[i]);
    }

    public static void QuantizeRow(float* src, byte* dst, int n)
    {
        var h = (ushort*)dst;
        for (var i = 0; i < n; i++) h[i] = Fp.FloatToBf16(src[i]);
    }

    public static float Dot(byte* w, in ActRow a, int n)
    {
        var h = (ushort*)w;
        var s = 0f;
        for (var i = 0; i < n; i++) s += Fp.Bf16ToFloat(h[i]) * a.F[i];
        return s;
    }
}
