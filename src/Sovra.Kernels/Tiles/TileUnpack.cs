using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Sovra.Gguf;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Formats.Blocks;

namespace Sovra.Kernels.Tiles;

/// <summary>
/// One weight row turned into what the tiled integer kernel multiplies: int16 values w' such that the row is
/// Σ_groups Dw·(w'·q) − [min terms], with the per-sub-block scales of the K-quants folded into w'.
/// Done once per row per call, then reused for every token.
/// </summary>
internal unsafe struct UnpackedRow
{
    public short* Wq;  // [cols]       integer values (scale-multiplied for the K-quants)
    public float* Dw;  // [groups]     float scale per group (32 values, or a 256-value super-block)
    public float* Mw;  // [groups]     Q4_1/Q5_1: the block's m; K-quants: dmin
    public int* Ms;    // [groups][4]  K-quants: the sub-block mins as int16 pairs (m0,m1), (m2,m3), ...
}

internal static unsafe class TileUnpack
{
    /// <summary>Values per scale group: 32 for the legacy blocks, 256 for the K-quants.</summary>
    public static int Group(GgmlType type) => type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K ? 256 : 32;

    public static bool Supports(GgmlType type) => type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0
        or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>How the min terms enter: none, + m·s (Q8_1 pairing), or − dmin·Σ m·bsum (K-quants).</summary>
    public static MinKind Mins(GgmlType type) => type switch
    {
        GgmlType.Q4_1 or GgmlType.Q5_1 => MinKind.Affine,
        GgmlType.Q4_K or GgmlType.Q5_K => MinKind.KMins,
        _ => MinKind.None,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unpack(GgmlType type, byte* src, int cols, in UnpackedRow r)
    {
        switch (type)
        {
            case GgmlType.Q8_0:
                for (var b = 0; b < cols / 32; b++, src += Q8_0Block.Bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    var (lo, hi) = Vector256.Widen(Vector256.Load((sbyte*)(src + 2)));
                    lo.Store(r.Wq + 32 * b);
                    hi.Store(r.Wq + 32 * b + 16);
                }
                break;
            case GgmlType.Q4_0:
                for (var b = 0; b < cols / 32; b++, src += Q4_0Block.Bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    Nibbles16(src + 2, r.Wq + 32 * b, Vector256.Create((short)8));
                }
                break;
            case GgmlType.Q4_1:
                for (var b = 0; b < cols / 32; b++, src += Q4_1Block.Bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    r.Mw[b] = Fp.LoadHalf(src + 2);
                    Nibbles16(src + 4, r.Wq + 32 * b, Vector256<short>.Zero);
                }
                break;
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
                    var w = r.Wq + 32 * b;
                    var offset = affine ? 0 : 16;
                    for (var j = 0; j < 16; j++)
                    {
                        w[j] = (short)(((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - offset);
                        w[j + 16] = (short)(((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - offset);
                    }
                }
                break;
            }
            case GgmlType.Q4_K:
            case GgmlType.Q5_K:
            {
                var five = type == GgmlType.Q5_K;
                var bytes = five ? Q5_KBlock.Bytes : Q4_KBlock.Bytes;
                var mins = stackalloc short[8];
                for (var b = 0; b < cols / 256; b++, src += bytes)
                {
                    r.Dw[b] = Fp.LoadHalf(src);
                    r.Mw[b] = Fp.LoadHalf(src + 2);
                    var q = src + (five ? 48 : 16);
                    var qh = src + 16;
                    var w = r.Wq + 256 * b;
                    for (var c = 0; c < 4; c++, q += 32)
                    {
                        KScales.Get(src + 4, 2 * c, out var sc1, out var m1);
                        KScales.Get(src + 4, 2 * c + 1, out var sc2, out var m2);
                        mins[2 * c] = (short)m1;
                        mins[2 * c + 1] = (short)m2;
                        var s1 = Vector256.Create((short)sc1);
                        var s2 = Vector256.Create((short)sc2);
                        var qv = Vector256.Load(q);
                        var lo = qv & Vector256.Create((byte)0x0F);
                        var hi = Vector256.ShiftRightLogical(qv, 4);
                        if (five)
                        {
                            var h = Vector256.Load(qh);
                            lo |= (Vector256.ShiftRightLogical(h, 2 * c) & Vector256<byte>.One) << 4;
                            hi |= (Vector256.ShiftRightLogical(h, 2 * c + 1) & Vector256<byte>.One) << 4;
                        }
                        var (l0, l1) = Vector256.Widen(lo);
                        var (h0, h1) = Vector256.Widen(hi);
                        (l0.AsInt16() * s1).Store(w + 64 * c);
                        (l1.AsInt16() * s1).Store(w + 64 * c + 16);
                        (h0.AsInt16() * s2).Store(w + 64 * c + 32);
                        (h1.AsInt16() * s2).Store(w + 64 * c + 48);
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
                    var sc = (sbyte*)(src + 192);
                    var w = r.Wq + 256 * b;
                    for (var h = 0; h < 2; h++)
                    {
                        var qlA = Vector256.Load(src + 64 * h);
                        var qlB = Vector256.Load(src + 64 * h + 32);
                        var qh = Vector256.Load(src + 128 + 32 * h);
                        for (var k = 0; k < 4; k++)
                        {
                            var ql = (k & 1) == 0 ? qlA : qlB;
                            var low = k < 2 ? ql & Vector256.Create((byte)0x0F) : Vector256.ShiftRightLogical(ql, 4);
                            var q = low | ((Vector256.ShiftRightLogical(qh, 2 * k) & Vector256.Create((byte)3)) << 4);
                            var (q0, q1) = Vector256.Widen(q);
                            var g = 8 * h + 2 * k;
                            var off = Vector256.Create((short)32);
                            ((q0.AsInt16() - off) * Vector256.Create((short)sc[g])).Store(w + 128 * h + 32 * k);
                            ((q1.AsInt16() - off) * Vector256.Create((short)sc[g + 1])).Store(w + 128 * h + 32 * k + 16);
                        }
                    }
                }
                break;
            default:
                throw new NotSupportedException($"no tiled kernel for {type}");
        }
    }

    /// <summary>16 packed bytes → 32 int16 values (low nibbles, then high nibbles) minus <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nibbles16(byte* qs, short* dst, Vector256<short> offset)
    {
        var q = Vector128.Load(qs);
        var (a, b) = Vector256.Widen(Vector256.Create(q & Vector128.Create((byte)0x0F), Vector128.ShiftRightLogical(q, 4)));
        (a.AsInt16() - offset).Store(dst);
        (b.AsInt16() - offset).Store(dst + 16);
    }
}

internal enum MinKind { None, Affine, KMins }
