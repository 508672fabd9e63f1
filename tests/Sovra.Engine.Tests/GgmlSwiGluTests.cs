using System.Runtime.InteropServices;
using Sovra.Engine.Blocks;

namespace Sovra.Engine.Tests;

/// <summary>The SwiGLU gate against llama.cpp's own ggml_vec_swiglu_f32, from the CPU backend build that matches this CPU.</summary>
public class GgmlSwiGluTests
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SwiGlu(int n, float[] y, float[] x, float[] g);

    private static SwiGlu Reference() => GgmlCpu.Export<SwiGlu>(GgmlCpu.Native, "ggml_vec_swiglu_f32");

    [Fact]
    public void Silu_times_up_is_llama_cpps_bit_for_bit()
    {
        if (!GgmlCpu.CanRun) return;
        var rng = new Random(3);
        const int n = 4096 + 13;   // a tail that is neither 8 nor 16 wide
        var g = new float[n];
        var u = new float[n];
        for (var i = 0; i < n; i++)
        {
            g[i] = (float)((rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 100 : 12));
            u[i] = (float)(rng.NextDouble() * 4 - 2);
        }
        float[] edges = [0f, -0f, 88.7f, -88.7f, 90f, -90f, -104f, 1e-30f, -1e-30f, 126f * 0.6931472f, -126f * 0.6931472f];
        edges.CopyTo(g, 100);
        var expected = new float[n];
        Reference()(n, expected, g, u);
        var ours = new float[n];
        GgmlSwiGlu.Apply(g, u, ours);
        // The check has teeth: a correctly rounded e^x gives other last bits for some of these.
        Assert.Contains(Enumerable.Range(0, n), i => g[i] / (1 + MathF.Exp(-g[i])) * u[i] != expected[i]);
        for (var i = 0; i < n; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(ours[i]),
                $"at {i}: silu({g[i]:R})·{u[i]:R} = {ours[i]:R}, llama.cpp {expected[i]:R}");
    }
}
