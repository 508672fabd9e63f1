using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sovra.Kernels;

/// <summary>
/// The small vectorised float operations of a transformer layer, computed the way ggml's CPU ops compute them
/// (RMSNorm sums squares in double and applies 1/√(mean+eps) then the weight; RoPE angles advance by repeated
/// multiplication with base^(−2/d)), so a forward pass built on them stays close to llama.cpp's.
/// </summary>
public static class FloatOps
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SameLength(int a, int b, string what)
    {
        if (a != b) throw new ArgumentException($"{what}: lengths {a} and {b} differ");
    }

    /// <summary>Σ a·b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength(a.Length, b.Length, nameof(Dot));
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        Vector256<float> s0 = default, s1 = default;
        var i = 0;
        for (; i + 16 <= a.Length; i += 16)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i + 8), Vector256.LoadUnsafe(ref pb, (nuint)i + 8), s1);
        }
        var s = Vector256.Sum(s0 + s1);
        for (; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y = x / √(mean(x²) + eps) · weight. y may be x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        SameLength(x.Length, weight.Length, nameof(RmsNorm));
        SameLength(x.Length, y.Length, nameof(RmsNorm));
        // One double sum in element order, as ggml's rms_norm (a scalar loop the compiler cannot reorder): lanes
        // summed separately round differently once the squares span more than double's spare 29 bits.
        double sum = 0;
        for (var i = 0; i < x.Length; i++) sum += x[i] * x[i];
        var scale = 1.0f / MathF.Sqrt((float)(sum / x.Length) + eps);
        Scale(x, scale, y);
        Mul(y, weight, y);
    }

    /// <summary>y = x·s. y may be x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(ReadOnlySpan<float> x, float s, Span<float> y)
    {
        SameLength(x.Length, y.Length, nameof(Scale));
        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        var sv = Vector256.Create(s);
        var i = 0;
        for (; i + 8 <= x.Length; i += 8) (Vector256.LoadUnsafe(ref px, (nuint)i) * sv).StoreUnsafe(ref py, (nuint)i);
        for (; i < x.Length; i++) y[i] = x[i] * s;
    }

    /// <summary>y = a·b element-wise. y may alias a or b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        SameLength(a.Length, b.Length, nameof(Mul));
        SameLength(a.Length, y.Length, nameof(Mul));
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        ref var py = ref MemoryMarshal.GetReference(y);
        var i = 0;
        for (; i + 8 <= a.Length; i += 8)
            (Vector256.LoadUnsafe(ref pa, (nuint)i) * Vector256.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < a.Length; i++) y[i] = a[i] * b[i];
    }

    /// <summary>y = a + b. y may alias a or b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        SameLength(a.Length, b.Length, nameof(Add));
        SameLength(a.Length, y.Length, nameof(Add));
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        ref var py = ref MemoryMarshal.GetReference(y);
        var i = 0;
        for (; i + 8 <= a.Length; i += 8)
            (Vector256.LoadUnsafe(ref pa, (nuint)i) + Vector256.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < a.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>y += a·x (attention's weighted sum of values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        SameLength(x.Length, y.Length, nameof(Axpy));
        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        var av = Vector256.Create(a);
        var i = 0;
        for (; i + 8 <= x.Length; i += 8)
            Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)i), av, Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < x.Length; i++) y[i] += a * x[i];
    }

    /// <summary>y = silu(gate)·up = gate/(1+e^−gate)·up, the SwiGLU gate. y may alias either input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        SameLength(gate.Length, up.Length, nameof(SiluMul));
        SameLength(gate.Length, y.Length, nameof(SiluMul));
        ref var pg = ref MemoryMarshal.GetReference(gate);
        ref var pu = ref MemoryMarshal.GetReference(up);
        ref var py = ref MemoryMarshal.GetReference(y);
        var one = Vector256<float>.One;
        var i = 0;
        for (; i + 8 <= gate.Length; i += 8)
        {
            var g = Vector256.LoadUnsafe(ref pg, (nuint)i);
            (g / (one + Vector256.Exp(-g)) * Vector256.LoadUnsafe(ref pu, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < gate.Length; i++) y[i] = gate[i] / (1 + MathF.Exp(-gate[i])) * up[i];
    }

    /// <summary>In-place softmax: x = e^(x−max) / Σ e^(x−max). Entries of −∞ (masked) become 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(Span<float> x)
    {
        if (x.IsEmpty) return;
        ref var p = ref MemoryMarshal.GetReference(x);
        var i = 0;
        var mv = Vector256.Create(float.NegativeInfinity);
        for (; i + 8 <= x.Length; i += 8) mv = Vector256.Max(mv, Vector256.LoadUnsafe(ref p, (nuint)i));
        var max = float.NegativeInfinity;
        for (var j = 0; j < 8; j++) max = MathF.Max(max, mv[j]);
        for (; i < x.Length; i++) max = MathF.Max(max, x[i]);
        if (float.IsNegativeInfinity(max)) throw new ArgumentException("softmax over entries that are all masked");
        var m = Vector256.Create(max);
        Vector256<float> sv = default;
        i = 0;
        for (; i + 8 <= x.Length; i += 8)
        {
            var e = Vector256.Exp(Vector256.LoadUnsafe(ref p, (nuint)i) - m);
            e.StoreUnsafe(ref p, (nuint)i);
            sv += e;
        }
        double sum = Vector256.Sum(sv);
        for (; i < x.Length; i++) { x[i] = MathF.Exp(x[i] - max); sum += x[i]; }
        Scale(x, (float)(1.0 / sum), x);
    }

    /// <summary>
    /// cos/sin of the RoPE angles for position <paramref name="pos"/>: θ_i = pos·scale·base^(−2i/dims) for
    /// i &lt; dims/2, advanced by repeated multiplication as ggml does. Linear scaling is <paramref name="freqScale"/> = 1/factor.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RopeAngles(int pos, int dims, float freqBase, float freqScale, Span<float> cos, Span<float> sin)
    {
        if (dims <= 0 || dims % 2 != 0) throw new ArgumentException($"rope dimensions must be a positive even number, got {dims}");
        if (cos.Length < dims / 2 || sin.Length < dims / 2) throw new ArgumentException($"need {dims / 2} angles");
        var thetaScale = MathF.Pow(freqBase, -2.0f / dims);
        float theta = pos;
        for (var i = 0; i < dims / 2; i++)
        {
            var t = freqScale * theta;
            cos[i] = MathF.Cos(t);
            sin[i] = MathF.Sin(t);
            theta *= thetaScale;
        }
    }

    /// <summary>
    /// NeoX-style rotation (qwen2, qwen3): in every head of <paramref name="headDim"/> values, pairs (i, i + dims/2)
    /// for i &lt; dims/2 are rotated by the angles; values past <paramref name="dims"/> are left as they are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RopeNeox(Span<float> heads, int headDim, int dims, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        CheckRope(heads.Length, headDim, dims, cos.Length, sin.Length);
        var half = dims / 2;
        for (var h = 0; h < heads.Length; h += headDim)
        {
            var x = heads.Slice(h, headDim);
            for (var i = 0; i < half; i++)
            {
                float x0 = x[i], x1 = x[i + half];
                x[i] = x0 * cos[i] - x1 * sin[i];
                x[i + half] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }

    /// <summary>Original (GPT-J / llama) rotation: adjacent pairs (2i, 2i+1) are rotated by angle i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RopeNormal(Span<float> heads, int headDim, int dims, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        CheckRope(heads.Length, headDim, dims, cos.Length, sin.Length);
        for (var h = 0; h < heads.Length; h += headDim)
        {
            var x = heads.Slice(h, headDim);
            for (var i = 0; i < dims / 2; i++)
            {
                float x0 = x[2 * i], x1 = x[2 * i + 1];
                x[2 * i] = x0 * cos[i] - x1 * sin[i];
                x[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckRope(int length, int headDim, int dims, int cos, int sin)
    {
        if (headDim <= 0 || length % headDim != 0) throw new ArgumentException($"{length} values are not whole heads of {headDim}");
        if (dims <= 0 || dims > headDim || dims % 2 != 0) throw new ArgumentException($"rope dimensions {dims} must be even and at most the head size {headDim}");
        if (cos < dims / 2 || sin < dims / 2) throw new ArgumentException($"need {dims / 2} angles, got {Math.Min(cos, sin)}");
    }
}
