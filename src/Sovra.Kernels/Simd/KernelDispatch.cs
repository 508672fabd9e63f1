using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Kernels.Simd;

/// <summary>The instruction-set tiers a kernel can run on, slowest first.</summary>
public enum KernelPath { Scalar = 0, Vector128 = 1, Avx2 = 2, Avx512 = 3 }

/// <summary>
/// The one place that decides which kernels run: the best path the CPU (and the runtime's switches) allow,
/// chosen once at start-up. <c>DOTNET_EnableAVX512=0</c> (the .NET 10 switch) and <c>DOTNET_EnableAVX512F=0</c>
/// (the older one, which .NET 10 ignores) both keep AVX-512 off. Tests ask for a lower path explicitly.
/// </summary>
public static unsafe class KernelDispatch
{
    /// <summary>The path the matrix products use unless told otherwise.</summary>
    public static KernelPath Best { get; } = Detect();

    public static bool Avx512Available =>
        Avx512F.IsSupported && Avx512BW.IsSupported && Avx512F.VL.IsSupported && Fma.IsSupported &&
        Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") != "0";

    /// <summary>
    /// Runs the static initialisers of the tables the kernels read (the F16 table, the Q5 bit table) before any
    /// kernel is compiled: the kernels are compiled fully optimised on first call, and a class still needing its
    /// initialiser then costs an init check (and register spills) inside every inner loop.
    /// </summary>
    internal static void WarmTables()
    {
        _ = Fp.HalfTable;
        V128Dot.Warm();
    }

    private static KernelPath Detect()
    {
        WarmTables();
        if (Avx512Available) return KernelPath.Avx512;
        if (Avx2Dot.IsSupported) return KernelPath.Avx2;
        if (V128Dot.IsSupported) return KernelPath.Vector128;
        return KernelPath.Scalar;
    }

    /// <summary>Whether <paramref name="path"/> can run on this machine (always true for Scalar).</summary>
    public static bool IsAvailable(KernelPath path) => path <= Best;

    /// <summary>"avx512 (avx512f+bw+vl, fma)", for logs and benchmark headers.</summary>
    public static string Describe(KernelPath path) => path switch
    {
        KernelPath.Avx512 => "avx512 (avx512f+bw+vl, fma)",
        KernelPath.Avx2 => "avx2 (avx2, fma)",
        KernelPath.Vector128 => "vector128 (portable 128-bit)",
        _ => "scalar",
    };

    /// <summary>Row dot kernel (weight row bytes, activation row, blocks) → Σ w·x for a format on a path.</summary>
    internal static delegate*<byte*, in ActRow, int, float> Dot(KernelPath path, GgmlType type)
    {
        if (!IsAvailable(path)) throw new PlatformNotSupportedException($"kernel path {path} is not available on this CPU");
        var f = QuantFormat.Of(type);
        return path switch
        {
            KernelPath.Avx512 => Or(Avx512Row(type), Or(Avx2Row(type), f.DotScalar)),
            KernelPath.Avx2 => Or(Avx2Row(type), f.DotScalar),
            KernelPath.Vector128 => Or(V128Row(type), f.DotScalar),
            _ => f.DotScalar,
        };
    }

    /// <summary>
    /// The row dot for the tokens of each full group of four in a batch (t &lt; n − n mod 4). llama.cpp's x86 CPU
    /// backend repacks Q4_K and multiplies such groups with its GEMM, whose float order differs from its GEMV
    /// (the other tokens; <see cref="Dot"/>); every other format has one order for every batch size.
    /// </summary>
    internal static delegate*<byte*, in ActRow, int, float> DotQuad(KernelPath path, GgmlType type)
    {
        if (type != GgmlType.Q4_K) return Dot(path, type);
        if (!IsAvailable(path)) throw new PlatformNotSupportedException($"kernel path {path} is not available on this CPU");
        return path switch
        {
            KernelPath.Avx512 or KernelPath.Avx2 => &Avx2Dot.Q4_KQuad,
            KernelPath.Vector128 => &V128Dot.Q4_K,
            _ => &Formats.Blocks.Q4_KBlock.DotQuad,
        };
    }

    /// <summary>Whether the leading tokens of a batch take <see cref="DotQuad"/> (and the prompt tile that order).</summary>
    internal static bool HasQuadOrder(GgmlType type) => type == GgmlType.Q4_K;

    private static delegate*<byte*, in ActRow, int, float> Or(delegate*<byte*, in ActRow, int, float> a, delegate*<byte*, in ActRow, int, float> b) =>
        a != null ? a : b;

    private static delegate*<byte*, in ActRow, int, float> Avx512Row(GgmlType type) => type switch
    {
        GgmlType.F32 => &Avx512Dot.F32,
        GgmlType.F16 => &Avx512Dot.F16,
        GgmlType.Q8_0 => &Avx2Dot.Q8_0, // ggml's summation order, see there
        GgmlType.Q6_K => &Avx512Dot.Q6_K,
        _ => null,
    };

    private static delegate*<byte*, in ActRow, int, float> Avx2Row(GgmlType type) => type switch
    {
        GgmlType.F32 => &Avx2Dot.F32,
        GgmlType.F16 => &Avx2Dot.F16,
        GgmlType.BF16 => &Avx2Dot.Bf16,
        GgmlType.Q8_0 => &Avx2Dot.Q8_0,
        GgmlType.Q4_0 => &Avx2Dot.Q4_0,
        GgmlType.Q4_1 => &Avx2Dot.Q4_1,
        GgmlType.Q5_0 => &Avx2Dot.Q5_0,
        GgmlType.Q5_1 => &Avx2Dot.Q5_1,
        GgmlType.Q4_K => &Avx2Dot.Q4_K,
        GgmlType.Q5_K => &Avx2Dot.Q5_K,
        GgmlType.Q6_K => &Avx2Dot.Q6_K,
        _ => null,
    };

    private static delegate*<byte*, in ActRow, int, float> V128Row(GgmlType type) => type switch
    {
        GgmlType.F32 => &V128Dot.F32,
        GgmlType.F16 => &V128Dot.F16,
        GgmlType.BF16 => &V128Dot.Bf16,
        GgmlType.Q8_0 => &V128Dot.Q8_0,
        GgmlType.Q4_0 => &V128Dot.Q4_0,
        GgmlType.Q4_1 => &V128Dot.Q4_1,
        GgmlType.Q5_0 => &V128Dot.Q5_0,
        GgmlType.Q5_1 => &V128Dot.Q5_1,
        GgmlType.Q4_K => &V128Dot.Q4_K,
        GgmlType.Q5_K => &V128Dot.Q5_K,
        GgmlType.Q6_K => &V128Dot.Q6_K,
        _ => null,
    };
}
