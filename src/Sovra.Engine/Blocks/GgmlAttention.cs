using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sovra.Engine.Blocks;

/// <summary>
/// The float arithmetic of llama.cpp's CPU flash attention, in its order, where Sovra follows it: the F16 K·q dot of the
/// small-batch path (ggml_vec_dot_f16: four accumulators of one vector width over steps of four vectors, folded and
/// reduced as GCC reduces them), and the tiled path of batches of 64 query rows or more (ggml_compute_forward_flash_attn_ext_tiled:
/// KV tiles of 64, a running max per tile, ggml's vector e^x, the tile's weights summed in blocks into a double, the
/// unnormalised p·V as one fused chain per output, then × 1/S). A Q8_0 model re-quantizes every attention output, so a
/// last-bit difference here can change a later token. The vector width is the one ggml's build uses on this CPU
/// (16 with AVX-512F+DQ, else 8), as for <see cref="GgmlSwiGlu"/>.
/// </summary>
internal static class GgmlAttention
{
    public const int KvTile = 64;
    internal static readonly int Width = Avx512F.IsSupported && Avx512DQ.IsSupported ? 16 : 8;

    /// <summary>hsum_float_8's order: (l0+l4 + l2+l6) + (l1+l5 + l3+l7). GCC's _mm512_reduce_add_ps of a 16-wide
    /// vector is this of its two halves added lane by lane.</summary>
    private static float Hsum8(Vector256<float> v) => ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));

    /// <summary>GGML_F32x8_REDUCE's two _mm_hadd_ps: (l0+l4 + l1+l5) + (l2+l6 + l3+l7).</summary>
    private static float Hadd8(Vector256<float> v) => ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));

    /// <summary>ggml_vec_dot_f16 of two rows of F16 values (held as floats) for a build of vector width 16 or 8. Exact for
    /// lengths that are a multiple of four vectors (the head sizes in use); ggml treats a tail differently (not followed).</summary>
    /// <remarks>Four accumulators of one vector width over steps of four vectors, folded x0+x2, x1+x3, x0+x1, then the
    /// horizontal sum (GCC's _mm512_reduce_add_ps, or the two hadds of GGML_F32x8_REDUCE). A 16-wide vector is two
    /// Vector256 halves here; the lanes are independent, so the bits are the same.</remarks>
    internal static float DotF16(ReadOnlySpan<float> q, ReadOnlySpan<float> k, int width)
    {
        var n = q.Length;
        var step = 4 * width;
        var np = n / step * step;
        var vq = MemoryMarshal.Cast<float, Vector256<float>>(q[..np]);
        var vk = MemoryMarshal.Cast<float, Vector256<float>>(k[..np]);
        float r;
        if (width == 16)
        {
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            for (var i = 0; i < vq.Length; i += 8)
            {
                a0 = Vector256.FusedMultiplyAdd(vq[i], vk[i], a0); b0 = Vector256.FusedMultiplyAdd(vq[i + 1], vk[i + 1], b0);
                a1 = Vector256.FusedMultiplyAdd(vq[i + 2], vk[i + 2], a1); b1 = Vector256.FusedMultiplyAdd(vq[i + 3], vk[i + 3], b1);
                a2 = Vector256.FusedMultiplyAdd(vq[i + 4], vk[i + 4], a2); b2 = Vector256.FusedMultiplyAdd(vq[i + 5], vk[i + 5], b2);
                a3 = Vector256.FusedMultiplyAdd(vq[i + 6], vk[i + 6], a3); b3 = Vector256.FusedMultiplyAdd(vq[i + 7], vk[i + 7], b3);
            }
            r = Hsum8((b0 + b2) + (b1 + b3) + ((a0 + a2) + (a1 + a3)));
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (var i = 0; i < vq.Length; i += 4)
            {
                a0 = Vector256.FusedMultiplyAdd(vq[i], vk[i], a0);
                a1 = Vector256.FusedMultiplyAdd(vq[i + 1], vk[i + 1], a1);
                a2 = Vector256.FusedMultiplyAdd(vq[i + 2], vk[i + 2], a2);
                a3 = Vector256.FusedMultiplyAdd(vq[i + 3], vk[i + 3], a3);
            }
            r = Hadd8((a0 + a2) + (a1 + a3));
        }
        double sum = r;
        for (var d = np; d < n; d++) sum += q[d] * k[d];
        return (float)sum;
    }

    /// <summary>ggml_vec_soft_max_f32: y = e^(x − max) with ggml's vector e^x (libm's expf for a tail), returning the sum
    /// of y accumulated in double one vector at a time, for this CPU's build.</summary>
    internal static double SoftMaxSum(ReadOnlySpan<float> x, float max, Span<float> y)
    {
        var w = Width;
        var vm = Vector256.Create(max);
        double sum = 0;
        var i = 0;
        for (; i + w <= x.Length; i += w)
        {
            var lo = GgmlSwiGlu.Exp(Vector256.Create(x.Slice(i, 8)) - vm);
            lo.CopyTo(y.Slice(i, 8));
            if (w == 16)
            {
                var hi = GgmlSwiGlu.Exp(Vector256.Create(x.Slice(i + 8, 8)) - vm);
                hi.CopyTo(y.Slice(i + 8, 8));
                lo = hi + lo;
            }
            sum += Hsum8(lo);
        }
        for (; i < x.Length; i++)
        {
            var v = MathF.Exp(x[i] - max);
            sum += v;
            y[i] = v;
        }
        return sum;
    }

    /// <summary>
    /// Up to four query rows over their visible keys as ggml's tiled flash attention computes each row. scores: rows ×
    /// [stride] (already × scale), limit[r] keys visible to row r, vf: [keys, dv]; o rows are written.
    /// p: scratch of 4 × <see cref="KvTile"/>.
    /// </summary>
    public static void AttendTiled(Span<float> scores, int stride, ReadOnlySpan<int> limit, int rows, ReadOnlySpan<float> vf, int dv,
        Span<float> p, Span<float> o0, Span<float> o1, Span<float> o2, Span<float> o3)
    {
        Span<float> m = stackalloc float[4];
        Span<float> sum = stackalloc float[4];
        var maxLimit = 0;
        for (var r = 0; r < 4; r++)
        {
            m[r] = float.NegativeInfinity;
            sum[r] = 0;
            if (r < rows) maxLimit = Math.Max(maxLimit, limit[r]);
        }
        o0.Clear(); if (rows > 1) o1.Clear(); if (rows > 2) o2.Clear(); if (rows > 3) o3.Clear();
        Span<float> x = stackalloc float[KvTile];
        for (var t0 = 0; t0 < maxLimit; t0 += KvTile)
        {
            var count = Math.Min(KvTile, maxLimit - t0);
            for (var r = 0; r < rows; r++)
            {
                var pr = p.Slice(r * KvTile, KvTile);
                var visible = Math.Min(KvTile, limit[r] - t0);
                if (visible <= 0) { pr.Clear(); continue; }
                var tile = scores.Slice(r * stride + t0, visible);
                var mNew = MathF.Max(m[r], TensorPrimitives.Max(tile));
                var or = r switch { 0 => o0, 1 => o1, 2 => o2, _ => o3 };
                if (mNew > m[r])
                {
                    var ms = MathF.Exp(m[r] - mNew);
                    TensorPrimitives.Multiply(or, ms, or);
                    sum[r] *= ms;
                }
                m[r] = mNew;
                // The tile is always 64 wide: cells past the visible ones weigh e^−∞ = 0.
                tile.CopyTo(x);
                x[visible..].Fill(float.NegativeInfinity);
                sum[r] = (float)(sum[r] + SoftMaxSum(x, mNew, pr));
            }
            AttentionKernels.ValuesAdd(vf.Slice(t0 * dv), dv, count,
                p[..KvTile], p.Slice(KvTile, KvTile), p.Slice(2 * KvTile, KvTile), p.Slice(3 * KvTile, KvTile), rows, o0, o1, o2, o3);
        }
        for (var r = 0; r < rows; r++)
        {
            var or = r switch { 0 => o0, 1 => o1, 2 => o2, _ => o3 };
            TensorPrimitives.Multiply(or, sum[r] == 0 ? 0 : 1f / sum[r], or);
        }
    }
}
