using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Sovra.TestSupport;

namespace Sovra.Engine.Tests;

/// <summary>Exported functions of llama.cpp's CPU backend builds (node-llama-cpp's), for bit-for-bit checks.</summary>
internal static class GgmlCpu
{
    /// <summary>Whether the AVX-512 F/DQ build (zen4: ggml's AVX-512 vector e^x and reductions) runs here; else haswell (AVX2).</summary>
    public static bool Avx512Build => Avx512F.IsSupported && Avx512DQ.IsSupported && Avx512BW.IsSupported && Avx512Vbmi.IsSupported;

    /// <summary>The reference builds need AVX2 + FMA to run at all.</summary>
    public static bool CanRun => Avx2.IsSupported && Fma.IsSupported;

    public static T Export<T>(string variant, string name) where T : Delegate
    {
        var dir = Path.Combine(RepoPaths.NodeModules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64");
        NativeLibrary.Load(Path.Combine(dir, "libggml-base.so"));
        var lib = NativeLibrary.Load(Path.Combine(dir, $"libggml-cpu-{variant}.so"));
        return Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(lib, name));
    }

    /// <summary>The build llama.cpp loads on this CPU (of the two the checks use).</summary>
    public static string Native => Avx512Build ? "zen4" : "haswell";
}
