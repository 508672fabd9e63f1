using System.Runtime.InteropServices;
using Sovra.Engine.Blocks;

namespace Sovra.Engine.Tests;

/// <summary>The pieces of llama.cpp's CPU flash attention that <see cref="GgmlAttention"/> reproduces, against the exported
/// functions of the CPU backend builds: the F16 dot (both vector widths) and the softmax sum (this CPU's build).</summary>
public class GgmlAttentionTests
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void DotF16(int n, out float s, nint bs, ushort[] x, nint bx, ushort[] y, nint by, int nrc);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate double SoftMax(int n, float[] y, float[] x, float max);

    [Theory]
    // Head sizes that are a multiple of four vectors (64, 128, 256 at width 16): the tail of other lengths is not followed.
    [InlineData(8, 64)]
    [InlineData(8, 128)]
    [InlineData(16, 128)]
    [InlineData(16, 192)]
    public void F16_dot_is_ggml_vec_dot_f16_bit_for_bit(int width, int n)
    {
        if (!GgmlCpu.CanRun || (width == 16 && !GgmlCpu.Avx512Build)) return; // the build must run here
        var dot = GgmlCpu.Export<DotF16>(width == 16 ? "zen4" : "haswell", "ggml_vec_dot_f16");
        var rng = new Random(n + width);
        var same = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var q = new float[n];
            var k = new float[n];
            var qh = new ushort[n];
            var kh = new ushort[n];
            for (var i = 0; i < n; i++)
            {
                qh[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 4 - 2));
                kh[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 4 - 2));
                q[i] = (float)BitConverter.UInt16BitsToHalf(qh[i]);
                k[i] = (float)BitConverter.UInt16BitsToHalf(kh[i]);
            }
            dot(n, out var expected, 0, kh, 0, qh, 0, 1);
            var ours = GgmlAttention.DotF16(q, k, width);
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(ours), $"trial {trial}: ggml {expected:R}, ours {ours:R}");
            double plain = 0;
            for (var i = 0; i < n; i++) plain += q[i] * k[i];
            if ((float)plain == ours) same++;
        }
        Assert.True(same < 200, "a plain sum gives the same bits every time: the test would not see a wrong order");
    }

    [Fact]
    public void Softmax_sum_is_ggml_vec_soft_max_f32_bit_for_bit()
    {
        if (!GgmlCpu.CanRun) return;
        var softMax = GgmlCpu.Export<SoftMax>(GgmlCpu.Native, "ggml_vec_soft_max_f32");
        var rng = new Random(5);
        foreach (var n in new[] { 64, 64, 64, 37 })
        {
            var x = new float[n];
            for (var i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 20 - 10);
            x[n - 1] = float.NegativeInfinity;
            var max = x.Max();
            var expected = new float[n];
            var sum = softMax(n, expected, x, max);
            var ours = new float[n];
            var oursSum = GgmlAttention.SoftMaxSum(x, max, ours);
            Assert.Equal(sum, oursSum);
            for (var i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(ours[i]), $"n={n} at {i}: ggml {expected[i]:R}, ours {ours[i]:R}");
        }
    }
}
