using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Tiles;

/// <summary>
/// One weight row as the byte tile multiplies it: the raw unsigned quant values (0..15, 0..31 or 0..63) one
/// per byte in element order, so four of them broadcast against four int8 activations per token in one
/// <c>vpmaddubsw</c>. Offsets (−8, −16, −32) and sub-block scales stay out of the bytes: the offsets are
/// subtracted through the activation sums, the scales multiply a chunk's int16 sums in the widening
/// <c>vpmaddwd</c> (ones for the legacy blocks).
/// </summary>
internal unsafe struct ByteRow
{
    public byte* Wb;  // [cols]            unsigned quant values
    public float* Dw; // [groups]          float scale per group (32-block or 256 super-block)
    public float* Mw; // [groups]          Q4_1/Q5_1: m; Q4_K/Q5_K: dmin
    public int* Ms;   // [groups][pairs]   K-quants: int16 pairs of sub-block mins (Q4_K/Q5_K) or scales (Q6_K)
    public int* Sc;   // [chunks]          int16 pair (s, s) per chunk: the sub-block scale, 1 for legacy blocks;
                      // Q5_K / Q6_K: per four-value step (cols/4), for the eight-lane kernels
}

/// <summary>How a format's offset or min enters the byte tile.</summary>
internal enum ByteMins
{
    None,
    Offset,   // Q4_0 / Q5_0: Σ(q−o)x = Σqx − o·Σx, with −o·Σx precomputed per block in the panel
    Affine,   // Q4_1 / Q5_1: + m·(d·Σx)
    KMins,    // Q4_K / Q5_K: − dmin·dx·Σ m_j·bsum_j (as the int16 tile)
    Q6Offset, // Q6_K: − 32·Σ sc_j·bsum_j over the 16-value sub-blocks, subtracted in int32
}

internal static unsafe class ByteUnpack
{
    public static bool Supports(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0
        or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// Four-value steps summed in int16 before widening: each int16 lane gathers 2 products per step, and
    /// 2·steps·qmax·128 must stay below 32768 (Q8 activations reach −128): 8 for 4-bit values (30720),
    /// 4 for 5-bit (31744), 2 for 6-bit (32256).
    /// </summary>
    public static int Steps(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q4_K => 8,
        GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q5_K => 4,
        GgmlType.Q6_K => 2,
        _ => throw new NotSupportedException($"no byte tile for {type}"),
    };

    public static ByteMins Mins(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 => ByteMins.Offset,
        GgmlType.Q4_1 or GgmlType.Q5_1 => ByteMins.Affine,
        GgmlType.Q4_K or GgmlType.Q5_K => ByteMins.KMins,
        GgmlType.Q6_K => ByteMins.Q6Offset,
        _ => ByteMins.None,
    };

    /// <summary>The value subtracted from every quant of a legacy block (0 where a min or the K-quant path handles it).</summary>
    public static int Offset(GgmlType type) => type switch { GgmlType.Q4_0 => 8, GgmlType.Q5_0 => 16, _ => 0 };

    /// <summary>Int16 pairs of mins / scales per 256 super-block: 8 sub-blocks of 32 (Q4_K/Q5_K) or 16 of 16 (Q6_K).</summary>
    public static int Pairs(GgmlType type) => type == GgmlType.Q6_K ? 8 : 4;

    private static int Pair(int a, int b) => (ushort)(short)a | (b << 16);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unpack(GgmlType type, byte* src, int cols, in ByteRow r)
    {
        switch (type)
        {
            case GgmlType.Q4_0:
            case GgmlType.Q4_1:
            {
                var affine = type == GgmlType.Q4_1;
                var bytes = affine ? Q4_1Block.Bytes : Q4_0Block.Bytes;
                for (var b = 0; b < cols / 32; b++, src += bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    if (affine) r.Mw[b] = Fp.LoadHalf(src + 2);
                    var q = Vector128.Load(src + (affine ? 4 : 2));
                    (q & Vector128.Create((byte)0x0F)).Store(r.Wb + 32 * b);
                    Vector128.ShiftRightLogical(q, 4).Store(r.Wb + 32 * b + 16);
                    r.Sc[b] = Pair(1, 1);
                }
                break;
            }
            case GgmlType.Q5_0:
            case GgmlType.Q5_1:
            {
                var affine = type == GgmlType.Q5_1;
                var bytes = affine ? Q5_1Block.Bytes : Q5_0Block.Bytes;
                for (var b = 0; b < cols / 32; b++, src += bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    if (affine) r.Mw[b] = Fp.LoadHalf(src + 2);
                    var qh = *(uint*)(src + (affine ? 4 : 2));
                    var qs = src + (affine ? 8 : 6);
                    var w = r.Wb + 32 * b;
                    for (var j = 0; j < 16; j++)
                    {
                        w[j] = (byte)((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4));
                        w[j + 16] = (byte)((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4));
                    }
                    r.Sc[2 * b] = r.Sc[2 * b + 1] = Pair(1, 1);
                }
                break;
            }
            case GgmlType.Q4_K:
            case GgmlType.Q5_K:
            {
                var five = type == GgmlType.Q5_K;
                var bytes = five ? Q5_KBlock.Bytes : Q4_KBlock.Bytes;
                var chunksPerSub = five ? 8 : 1; // Q5_K: a scale per four-value step; Q4_K: per 32-value chunk
                var mins = stackalloc short[8];
                for (var b = 0; b < cols / 256; b++, src += bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    r.Mw[b] = Fp.LoadHalf(src + 2);
                    var q = src + (five ? 48 : 16);
                    var qh = src + 16;
                    var w = r.Wb + 256 * b;
                    var sc = r.Sc + 8 * chunksPerSub * b;
                    for (var c = 0; c < 4; c++, q += 32)
                    {
                        var qv = Vector256.Load(q);
                        var lo = qv & Vector256.Create((byte)0x0F);
                        var hi = Vector256.ShiftRightLogical(qv, 4);
                        if (five)
                        {
                            var h = Vector256.Load(qh);
                            lo |= (Vector256.ShiftRightLogical(h, 2 * c) & Vector256<byte>.One) << 4;
                            hi |= (Vector256.ShiftRightLogical(h, 2 * c + 1) & Vector256<byte>.One) << 4;
                        }
                        lo.Store(w + 64 * c);
                        hi.Store(w + 64 * c + 32);
                        for (var s = 0; s < 2; s++)
                        {
                            KScales.Get(src + 4, 2 * c + s, out var scale, out var min);
                            mins[2 * c + s] = (short)min;
                            for (var k = 0; k < chunksPerSub; k++) sc[(2 * c + s) * chunksPerSub + k] = Pair(scale, scale);
                        }
                    }
                    var pairs = (int*)mins;
                    for (var j = 0; j < 4; j++) r.Ms[4 * b + j] = pairs[j];
                }
                break;
            }
            case GgmlType.Q6_K:
                for (var b = 0; b < cols / 256; b++, src += Q6_KBlock.Bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src + 208);
                    var scales = (sbyte*)(src + 192);
                    var w = r.Wb + 256 * b;
                    for (var h = 0; h < 2; h++)
                    {
                        var qlA = Vector256.Load(src + 64 * h);
                        var qlB = Vector256.Load(src + 64 * h + 32);
                        var qh = Vector256.Load(src + 128 + 32 * h);
                        for (var k = 0; k < 4; k++)
                        {
                            var ql = (k & 1) == 0 ? qlA : qlB;
                            var low = k < 2 ? ql & Vector256.Create((byte)0x0F) : Vector256.ShiftRightLogical(ql, 4);
                            (low | ((Vector256.ShiftRightLogical(qh, 2 * k) & Vector256.Create((byte)3)) << 4)).Store(w + 128 * h + 32 * k);
                        }
                    }
                    // A scale per four-value step: sub-block j covers steps 4j..4j+3.
                    for (var j = 0; j < 64; j++) r.Sc[64 * b + j] = Pair(scales[j >> 2], scales[j >> 2]);
                    for (var j = 0; j < 8; j++) r.Ms[8 * b + j] = Pair(scales[2 * j], scales[2 * j + 1]);
                    r.Mw[b] = 0;
                }
                break;
            default:
                throw new NotSupportedException($"no byte tile for {type}");
        }
    }
}
