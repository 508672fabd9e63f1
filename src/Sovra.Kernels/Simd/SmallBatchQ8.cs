using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Simd;

/// <summary>
/// Q8_0 weights × a few Q8_0 activation rows (a decode step of several sequences): 4 weight rows at a time, each
/// block's |w| and sign mask prepared once and reused by every token, 4 tokens (AVX-512) or 2 (AVX2) per pass.
/// The row kernel redoes that per token and sums each dot horizontally; the prompt tile packs panels that
/// a batch this small cannot amortize. Item i computes rows [i·Chunk, (i+1)·Chunk) for every token.
/// </summary>
internal sealed unsafe class SmallBatchQ8 : IParallelJob
{
    /// <summary>Batches of 2..MaxTokens rows take this kernel; longer ones go to the prompt tile.</summary>
    public const int MaxTokens = 20;

    public static bool Supports(KernelPath path, GgmlType type, int n) =>
        type == GgmlType.Q8_0 && n is >= 2 and <= MaxTokens && path >= KernelPath.Avx2 && KernelDispatch.IsAvailable(path);

    public byte* W;           // [Rows][RowBytes] Q8_0 blocks
    public long RowBytes;
    public int Rows, Blocks, N, Chunk;
    public ActRow* Acts;      // [N] Q8_0 activation rows
    public float* Y;          // [N][Rows]
    public bool Wide;         // AVX-512 (else AVX2)

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index, int worker)
    {
        var r0 = index * Chunk;
        var r1 = Math.Min(Rows, r0 + Chunk);
        var r = r0;
        for (; r + 4 <= r1; r += 4)
        {
            var t = 0;
            if (Wide)
            {
                for (; t + 4 <= N; t += 4) Tile4x4(r, t);
                for (; t < N; t++) Tile4x1Wide(r, t);
            }
            else
            {
                for (; t + 2 <= N; t += 2) Tile4x2(r, t);
                for (; t < N; t++) Tile4x1(r, t);
            }
        }
        // Rows left over from the groups of 4: one dot per token.
        var dot = KernelDispatch.Dot(Wide ? KernelPath.Avx512 : KernelPath.Avx2, GgmlType.Q8_0);
        for (; r < r1; r++)
            for (var t = 0; t < N; t++) Y[(long)t * Rows + r] = dot(W + r * RowBytes, Acts[t], Blocks);
    }

    /// <summary>|w|·(±x) through vpmaddubsw/vpmaddwd: |w| ≤ 128 and |x| ≤ 127 keep the int16 pair sums exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot(Vector512<byte> aw, Vector512<sbyte> neg, Vector512<sbyte> x, Vector512<sbyte> nx) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(aw, Vector512.ConditionalSelect(neg, nx, x)), Vector512<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(float lo, float hi) => Avx512Dot.Join(Vector256.Create(lo), Vector256.Create(hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Load2(byte* block) =>
        Avx512Dot.Join(Vector256.Load((sbyte*)(block + 2)), Vector256.Load((sbyte*)(block + 2 + Q8_0Block.Bytes)));

    /// <summary>The odd last block of one (row, token), on 256 bits.</summary>
    private float Tail(byte* row, int t)
    {
        var a = Acts[t];
        var b = Blocks - 1;
        return Avx2Dot.Q8_0(row + b * Q8_0Block.Bytes, new ActRow { Q = a.Q + 32 * b, D = a.D + b }, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x4(int r, int t)
    {
        byte* w0 = W + r * RowBytes, w1 = w0 + RowBytes, w2 = w1 + RowBytes, w3 = w2 + RowBytes;
        sbyte* q0 = Acts[t].Q, q1 = Acts[t + 1].Q, q2 = Acts[t + 2].Q, q3 = Acts[t + 3].Q;
        float* d0 = Acts[t].D, d1 = Acts[t + 1].D, d2 = Acts[t + 2].D, d3 = Acts[t + 3].D;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        var pairs = Blocks / 2;
        for (var p = 0; p < pairs; p++)
        {
            var o = p * 2 * Q8_0Block.Bytes;
            var v0 = Load2(w0 + o); var v1 = Load2(w1 + o); var v2 = Load2(w2 + o); var v3 = Load2(w3 + o);
            var n0 = Vector512.LessThan(v0, Vector512<sbyte>.Zero); var n1 = Vector512.LessThan(v1, Vector512<sbyte>.Zero);
            var n2 = Vector512.LessThan(v2, Vector512<sbyte>.Zero); var n3 = Vector512.LessThan(v3, Vector512<sbyte>.Zero);
            var u0 = Avx512BW.Abs(v0); var u1 = Avx512BW.Abs(v1); var u2 = Avx512BW.Abs(v2); var u3 = Avx512BW.Abs(v3);
            var s0 = Pair(Fp.LoadHalf(w0 + o), Fp.LoadHalf(w0 + o + Q8_0Block.Bytes));
            var s1 = Pair(Fp.LoadHalf(w1 + o), Fp.LoadHalf(w1 + o + Q8_0Block.Bytes));
            var s2 = Pair(Fp.LoadHalf(w2 + o), Fp.LoadHalf(w2 + o + Q8_0Block.Bytes));
            var s3 = Pair(Fp.LoadHalf(w3 + o), Fp.LoadHalf(w3 + o + Q8_0Block.Bytes));
            var k = 2 * p;

            var x = Vector512.Load(q0 + 64 * p); var nx = Vector512<sbyte>.Zero - x; var dx = Pair(d0[k], d0[k + 1]);
            a00 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u0, n0, x, nx)), s0 * dx, a00);
            a10 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u1, n1, x, nx)), s1 * dx, a10);
            a20 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u2, n2, x, nx)), s2 * dx, a20);
            a30 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u3, n3, x, nx)), s3 * dx, a30);

            x = Vector512.Load(q1 + 64 * p); nx = Vector512<sbyte>.Zero - x; dx = Pair(d1[k], d1[k + 1]);
            a01 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u0, n0, x, nx)), s0 * dx, a01);
            a11 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u1, n1, x, nx)), s1 * dx, a11);
            a21 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u2, n2, x, nx)), s2 * dx, a21);
            a31 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u3, n3, x, nx)), s3 * dx, a31);

            x = Vector512.Load(q2 + 64 * p); nx = Vector512<sbyte>.Zero - x; dx = Pair(d2[k], d2[k + 1]);
            a02 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u0, n0, x, nx)), s0 * dx, a02);
            a12 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u1, n1, x, nx)), s1 * dx, a12);
            a22 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u2, n2, x, nx)), s2 * dx, a22);
            a32 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u3, n3, x, nx)), s3 * dx, a32);

            x = Vector512.Load(q3 + 64 * p); nx = Vector512<sbyte>.Zero - x; dx = Pair(d3[k], d3[k + 1]);
            a03 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u0, n0, x, nx)), s0 * dx, a03);
            a13 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u1, n1, x, nx)), s1 * dx, a13);
            a23 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u2, n2, x, nx)), s2 * dx, a23);
            a33 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u3, n3, x, nx)), s3 * dx, a33);
        }
        var odd = (Blocks & 1) != 0;
        Store(r, t, w0, Vector512.Sum(a00), odd); Store(r + 1, t, w1, Vector512.Sum(a10), odd);
        Store(r + 2, t, w2, Vector512.Sum(a20), odd); Store(r + 3, t, w3, Vector512.Sum(a30), odd);
        Store(r, t + 1, w0, Vector512.Sum(a01), odd); Store(r + 1, t + 1, w1, Vector512.Sum(a11), odd);
        Store(r + 2, t + 1, w2, Vector512.Sum(a21), odd); Store(r + 3, t + 1, w3, Vector512.Sum(a31), odd);
        Store(r, t + 2, w0, Vector512.Sum(a02), odd); Store(r + 1, t + 2, w1, Vector512.Sum(a12), odd);
        Store(r + 2, t + 2, w2, Vector512.Sum(a22), odd); Store(r + 3, t + 2, w3, Vector512.Sum(a32), odd);
        Store(r, t + 3, w0, Vector512.Sum(a03), odd); Store(r + 1, t + 3, w1, Vector512.Sum(a13), odd);
        Store(r + 2, t + 3, w2, Vector512.Sum(a23), odd); Store(r + 3, t + 3, w3, Vector512.Sum(a33), odd);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x1Wide(int r, int t)
    {
        byte* w0 = W + r * RowBytes, w1 = w0 + RowBytes, w2 = w1 + RowBytes, w3 = w2 + RowBytes;
        sbyte* q = Acts[t].Q;
        float* d = Acts[t].D;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var pairs = Blocks / 2;
        for (var p = 0; p < pairs; p++)
        {
            var o = p * 2 * Q8_0Block.Bytes;
            var x = Vector512.Load(q + 64 * p); var nx = Vector512<sbyte>.Zero - x; var dx = Pair(d[2 * p], d[2 * p + 1]);
            var v0 = Load2(w0 + o); var v1 = Load2(w1 + o); var v2 = Load2(w2 + o); var v3 = Load2(w3 + o);
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(Avx512BW.Abs(v0), Vector512.LessThan(v0, Vector512<sbyte>.Zero), x, nx)),
                Pair(Fp.LoadHalf(w0 + o), Fp.LoadHalf(w0 + o + Q8_0Block.Bytes)) * dx, a0);
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(Avx512BW.Abs(v1), Vector512.LessThan(v1, Vector512<sbyte>.Zero), x, nx)),
                Pair(Fp.LoadHalf(w1 + o), Fp.LoadHalf(w1 + o + Q8_0Block.Bytes)) * dx, a1);
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(Avx512BW.Abs(v2), Vector512.LessThan(v2, Vector512<sbyte>.Zero), x, nx)),
                Pair(Fp.LoadHalf(w2 + o), Fp.LoadHalf(w2 + o + Q8_0Block.Bytes)) * dx, a2);
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(Avx512BW.Abs(v3), Vector512.LessThan(v3, Vector512<sbyte>.Zero), x, nx)),
                Pair(Fp.LoadHalf(w3 + o), Fp.LoadHalf(w3 + o + Q8_0Block.Bytes)) * dx, a3);
        }
        var odd = (Blocks & 1) != 0;
        Store(r, t, w0, Vector512.Sum(a0), odd); Store(r + 1, t, w1, Vector512.Sum(a1), odd);
        Store(r + 2, t, w2, Vector512.Sum(a2), odd); Store(r + 3, t, w3, Vector512.Sum(a3), odd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot(Vector256<sbyte> aw, Vector256<sbyte> w, Vector256<sbyte> x) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(aw.AsByte(), Avx2.Sign(x, w)), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x2(int r, int t)
    {
        byte* w0 = W + r * RowBytes, w1 = w0 + RowBytes, w2 = w1 + RowBytes, w3 = w2 + RowBytes;
        sbyte* q0 = Acts[t].Q, q1 = Acts[t + 1].Q;
        float* d0 = Acts[t].D, d1 = Acts[t + 1].D;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (var b = 0; b < Blocks; b++)
        {
            var o = b * Q8_0Block.Bytes;
            var v0 = Vector256.Load((sbyte*)(w0 + o + 2)); var v1 = Vector256.Load((sbyte*)(w1 + o + 2));
            var v2 = Vector256.Load((sbyte*)(w2 + o + 2)); var v3 = Vector256.Load((sbyte*)(w3 + o + 2));
            var u0 = Avx2.Abs(v0).AsSByte(); var u1 = Avx2.Abs(v1).AsSByte(); var u2 = Avx2.Abs(v2).AsSByte(); var u3 = Avx2.Abs(v3).AsSByte();
            float s0 = Fp.LoadHalf(w0 + o), s1 = Fp.LoadHalf(w1 + o), s2 = Fp.LoadHalf(w2 + o), s3 = Fp.LoadHalf(w3 + o);

            var x = Vector256.Load(q0 + 32 * b); var dx = d0[b];
            a00 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u0, v0, x)), Vector256.Create(s0 * dx), a00);
            a10 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u1, v1, x)), Vector256.Create(s1 * dx), a10);
            a20 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u2, v2, x)), Vector256.Create(s2 * dx), a20);
            a30 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u3, v3, x)), Vector256.Create(s3 * dx), a30);

            x = Vector256.Load(q1 + 32 * b); dx = d1[b];
            a01 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u0, v0, x)), Vector256.Create(s0 * dx), a01);
            a11 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u1, v1, x)), Vector256.Create(s1 * dx), a11);
            a21 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u2, v2, x)), Vector256.Create(s2 * dx), a21);
            a31 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Dot(u3, v3, x)), Vector256.Create(s3 * dx), a31);
        }
        Y[(long)t * Rows + r] = Vector256.Sum(a00); Y[(long)t * Rows + r + 1] = Vector256.Sum(a10);
        Y[(long)t * Rows + r + 2] = Vector256.Sum(a20); Y[(long)t * Rows + r + 3] = Vector256.Sum(a30);
        Y[(long)(t + 1) * Rows + r] = Vector256.Sum(a01); Y[(long)(t + 1) * Rows + r + 1] = Vector256.Sum(a11);
        Y[(long)(t + 1) * Rows + r + 2] = Vector256.Sum(a21); Y[(long)(t + 1) * Rows + r + 3] = Vector256.Sum(a31);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x1(int r, int t)
    {
        var a = Acts[t];
        for (var i = 0; i < 4; i++) Y[(long)t * Rows + r + i] = Avx2Dot.Q8_0(W + (r + i) * RowBytes, a, Blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store(int r, int t, byte* row, float sum, bool odd) =>
        Y[(long)t * Rows + r] = odd ? sum + Tail(row, t) : sum;
}
