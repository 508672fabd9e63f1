using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sovra.Engine.Blocks;

/// <summary>
/// silu(gate)·up computed as llama.cpp's CPU backend computes it on this machine (ggml_vec_swiglu_f32): gate/(1+e^−gate)
/// with ggml's own vector e^x in blocks of 16 and the C library's expf for the rest, then ·up. ggml's vector e^x is
/// the polynomial of Arm's optimized-routines (x = n·ln2 + b, e^b by a degree-5 polynomial, scaled by 2^n), whose last
/// bit differs from a correctly rounded e^x now and then; the down projection rounds this product to Q8, so each such
/// bit can flip an activation. The AVX-512 build keeps the polynomial's constant term and scales by 2^n exactly (vscalefps);
/// the AVX2 build evaluates it without the 1 and finishes with one fused k + j·k. Which one llama.cpp runs follows the CPU.
/// </summary>
internal static class GgmlSwiGlu
{
    private static readonly bool Avx512Form = Avx512F.IsSupported && Avx512DQ.IsSupported;

    // The routine's constants, by their bits (C# has no hexadecimal float literals); C1..C5: the polynomial.
    private static readonly float Shift = BitConverter.Int32BitsToSingle(0x4b400000);   // 1.5·2^23: adding it rounds to an integer
    private static readonly float InvLn2 = BitConverter.Int32BitsToSingle(0x3fb8aa3b);   // 1/ln 2
    private static readonly float Ln2Lo = BitConverter.Int32BitsToSingle(0x35bfbe8e);   // ln 2 − Ln2Hi
    private static readonly float Ln2Hi = BitConverter.Int32BitsToSingle(0x3f317200);   // ln 2, high bits
    private static readonly float C5 = BitConverter.Int32BitsToSingle(0x3c072010);
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3d2b9f17);
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3e2aaf33);
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3efffedb);
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3f7ffff6);

    /// <summary>y = silu(gate)·up; all three [n]; y may alias either input.</summary>
    public static void Apply(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        if (up.Length != gate.Length || y.Length != gate.Length) throw new ArgumentException("gate, up and y must have the same length");
        var block = Avx512Form ? 16 : 8;
        var vectorEnd = gate.Length - gate.Length % block;
        var i = 0;
        for (; i < vectorEnd; i += 8)
        {
            var x = Vector256.Create(gate.Slice(i, 8));
            var e = Exp(Vector256<float>.Zero - x);
            (x / (Vector256<float>.One + e) * Vector256.Create(up.Slice(i, 8))).CopyTo(y.Slice(i, 8));
        }
        for (; i < gate.Length; i++) y[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }

    /// <summary>ggml_v_expf, lane by lane (the lanes are independent, so eight at a time give the same bits as sixteen).</summary>
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        var r = Vector256.Create(Shift);
        var z = Vector256.FusedMultiplyAdd(x, Vector256.Create(InvLn2), r);
        var n = z - r;                                                   // round(x / ln2), as a float
        var b = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo),
            Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), x));   // x − n·ln2 in two parts
        var u = b * b;
        var p = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.Create(C5), b, Vector256.Create(C4)),
                u, Vector256.FusedMultiplyAdd(Vector256.Create(C3), b, Vector256.Create(C2))),
            u, Avx512Form ? Vector256.FusedMultiplyAdd(Vector256.Create(C1), b, Vector256<float>.One)
                          : Vector256.Create(C1) * b);
        if (Vector256.GreaterThanAny(Vector256.Abs(n), Vector256.Create(126f))) return Slow(x, n, p);
        var k = (Vector256.ConvertToInt32(n) + Vector256.Create(127) << 23).AsSingle();   // 2^n, a normal float here
        return Avx512Form ? p * k : Vector256.FusedMultiplyAdd(p, k, k);
    }

    // Lanes whose 2^n is not a normal float: e^x overflows (x > 88.7) or is subnormal or zero (x < −87.3).
    private static Vector256<float> Slow(Vector256<float> x, Vector256<float> n, Vector256<float> p)
    {
        Span<float> o = stackalloc float[8];
        for (var l = 0; l < 8; l++)
        {
            var nl = (int)n[l];
            o[l] = x[l] > 88.72283f ? float.PositiveInfinity
                : x[l] < -103.97208f ? 0f
                : Avx512Form ? float.ScaleB(p[l], nl) : float.ScaleB(MathF.FusedMultiplyAdd(p[l], 1f, 1f), nl);
        }
        return Vector256.Create((ReadOnlySpan<float>)o);
    }
}
