using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sovra.Engine.Blocks;

/// <summary>
/// The two products of attention for a block of up to four query rows against one KV head, as small
/// register-blocked matrix kernels (Vector256, bounds-checked spans): scores = q · Kᵀ over keys stored
/// transposed, and out += p · V. Keys are processed 16 at a time, so the key count is padded to 16.
/// </summary>
internal static class AttentionKernels
{
    public const int KeyBlock = 16;

    /// <summary>
    /// s_r[j] = scale · Σ_d q_r[d] · kt[d, j] for j in [0, keys) (keys a multiple of 16).
    /// kt: [dk, stride]; q: rows × [dk]; s: rows × [stride]. Rows beyond <paramref name="rows"/> are not touched.
    /// </summary>
    public static void Scores(ReadOnlySpan<float> kt, int stride, int dk, int keys, float scale,
        ReadOnlySpan<float> q0, ReadOnlySpan<float> q1, ReadOnlySpan<float> q2, ReadOnlySpan<float> q3, int rows,
        Span<float> s0, Span<float> s1, Span<float> s2, Span<float> s3)
    {
        var k = MemoryMarshal.Cast<float, Vector256<float>>(kt);
        var vstride = stride / 8;
        var vs = Vector256.Create(scale);
        if (rows == 4)
        {
            var o0 = MemoryMarshal.Cast<float, Vector256<float>>(s0);
            var o1 = MemoryMarshal.Cast<float, Vector256<float>>(s1);
            var o2 = MemoryMarshal.Cast<float, Vector256<float>>(s2);
            var o3 = MemoryMarshal.Cast<float, Vector256<float>>(s3);
            for (var c = 0; c < keys / 8; c += 2)
            {
                Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
                var idx = c;
                for (var d = 0; d < dk; d++, idx += vstride)
                {
                    var k0 = k[idx];
                    var k1 = k[idx + 1];
                    var b = Vector256.Create(q0[d]); a00 = Vector256.FusedMultiplyAdd(b, k0, a00); a01 = Vector256.FusedMultiplyAdd(b, k1, a01);
                    b = Vector256.Create(q1[d]); a10 = Vector256.FusedMultiplyAdd(b, k0, a10); a11 = Vector256.FusedMultiplyAdd(b, k1, a11);
                    b = Vector256.Create(q2[d]); a20 = Vector256.FusedMultiplyAdd(b, k0, a20); a21 = Vector256.FusedMultiplyAdd(b, k1, a21);
                    b = Vector256.Create(q3[d]); a30 = Vector256.FusedMultiplyAdd(b, k0, a30); a31 = Vector256.FusedMultiplyAdd(b, k1, a31);
                }
                o0[c] = a00 * vs; o0[c + 1] = a01 * vs;
                o1[c] = a10 * vs; o1[c + 1] = a11 * vs;
                o2[c] = a20 * vs; o2[c + 1] = a21 * vs;
                o3[c] = a30 * vs; o3[c + 1] = a31 * vs;
            }
            return;
        }
        for (var r = 0; r < rows; r++)
        {
            var q = r switch { 0 => q0, 1 => q1, 2 => q2, _ => q3 };
            var o = MemoryMarshal.Cast<float, Vector256<float>>(r switch { 0 => s0, 1 => s1, 2 => s2, _ => s3 });
            for (var c = 0; c < keys / 8; c += 2)
            {
                Vector256<float> a0 = default, a1 = default;
                var idx = c;
                for (var d = 0; d < dk; d++, idx += vstride)
                {
                    var b = Vector256.Create(q[d]);
                    a0 = Vector256.FusedMultiplyAdd(b, k[idx], a0);
                    a1 = Vector256.FusedMultiplyAdd(b, k[idx + 1], a1);
                }
                o[c] = a0 * vs; o[c + 1] = a1 * vs;
            }
        }
    }

    /// <summary>
    /// out_r += Σ_{j &lt; keys} p_r[j] · v[j, :], one fused multiply-add chain per output starting from its current value
    /// (ggml's simd_gemm into the flash-attention accumulator). v: [keys, dv] (dv a multiple of 8); p: rows × [≥ keys];
    /// out: rows × [dv].
    /// </summary>
    public static void ValuesAdd(ReadOnlySpan<float> v, int dv, int keys,
        ReadOnlySpan<float> p0, ReadOnlySpan<float> p1, ReadOnlySpan<float> p2, ReadOnlySpan<float> p3, int rows,
        Span<float> out0, Span<float> out1, Span<float> out2, Span<float> out3)
    {
        var vv = MemoryMarshal.Cast<float, Vector256<float>>(v);
        var vdv = dv / 8;
        if (rows == 4)
        {
            var r0 = MemoryMarshal.Cast<float, Vector256<float>>(out0);
            var r1 = MemoryMarshal.Cast<float, Vector256<float>>(out1);
            var r2 = MemoryMarshal.Cast<float, Vector256<float>>(out2);
            var r3 = MemoryMarshal.Cast<float, Vector256<float>>(out3);
            for (var c = 0; c < vdv; c++)
            {
                Vector256<float> a0 = r0[c], a1 = r1[c], a2 = r2[c], a3 = r3[c];
                var idx = c;
                for (var j = 0; j < keys; j++, idx += vdv)
                {
                    var x = vv[idx];
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), x, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(p1[j]), x, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(p2[j]), x, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(p3[j]), x, a3);
                }
                r0[c] = a0; r1[c] = a1; r2[c] = a2; r3[c] = a3;
            }
            return;
        }
        for (var r = 0; r < rows; r++)
        {
            var p = r switch { 0 => p0, 1 => p1, 2 => p2, _ => p3 };
            var o = MemoryMarshal.Cast<float, Vector256<float>>(r switch { 0 => out0, 1 => out1, 2 => out2, _ => out3 });
            for (var c = 0; c < vdv; c++)
            {
                var a = o[c];
                var idx = c;
                for (var j = 0; j < keys; j++, idx += vdv) a = Vector256.FusedMultiplyAdd(Vector256.Create(p[j]), vv[idx], a);
                o[c] = a;
            }
        }
    }
}
