using System.Runtime.CompilerServices;

namespace Sovra.Kernels.Formats.Blocks;

// The K-quants: 256-value super-blocks, paired with Q8_K activations.

/// <summary>ggml's float reductions that the K-quant dots end with.</summary>
internal static unsafe class GgmlOrder
{
    /// <summary>Eight lanes summed as ggml's <c>hsum_float_8</c>: (l0+l4 + l2+l6) + (l1+l5 + l3+l7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum8(float* a) => ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/// <summary>The 12-byte packing of eight 6-bit scales and eight 6-bit mins shared by Q4_K and Q5_K.</summary>
internal static unsafe class KScales
{
    // Sub-blocks 0..3 keep their low 6 bits in bytes 0..3 (scale) and 4..7 (min); sub-blocks 4..7 keep their
    // low nibbles in bytes 8..11 and their top two bits in the top bits of bytes 0..7.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Get(byte* q, int j, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    /// <summary>All eight scales and all eight mins, one per byte (sub-block j in byte j), in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* q, out ulong scales, out ulong mins)
    {
        uint u0 = *(uint*)q, u1 = *(uint*)(q + 4), u2 = *(uint*)(q + 8);
        scales = (u0 & 0x3f3f3f3f) | ((ulong)((u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4)) << 32);
        mins = (u1 & 0x3f3f3f3f) | ((ulong)(((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4)) << 32);
    }

    /// <summary>Σ m_j·(activation sum of sub-block j), from the Q8_K sums of 16.</summary>
    public static int MinSum(byte* scales, short* bs)
    {
        var s = 0;
        for (var j = 0; j < 8; j++)
        {
            Get(scales, j, out _, out var m);
            s += m * (bs[2 * j] + bs[2 * j + 1]);
        }
        return s;
    }

    public static void Set(byte* q, int* scales, int* mins)
    {
        for (var j = 0; j < 4; j++)
        {
            q[j] = (byte)((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
            q[j + 4] = (byte)((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
            q[j + 8] = (byte)((scales[j + 4] & 0xF) | ((mins[j + 4] & 0xF) << 4));
        }
    }

    /// <summary>Fits eight 32-value sub-blocks as d·sc·q − dmin·m, with q in [0, nmax]; writes d, dmin, scales.</summary>
    public static void Encode(float* x, int nmax, byte* dHalf, byte* dminHalf, byte* packed, int* levels)
    {
        var scale = stackalloc float[8];
        var offset = stackalloc float[8];
        float maxScale = 0, maxOffset = 0;
        for (var s = 0; s < 8; s++)
        {
            Fit.Affine(x + 32 * s, 32, nmax, out scale[s], out offset[s]);
            maxScale = MathF.Max(maxScale, scale[s]);
            maxOffset = MathF.Max(maxOffset, offset[s]);
        }
        var ls = stackalloc int[8];
        var lm = stackalloc int[8];
        var invScale = maxScale > 0 ? 63 / maxScale : 0;
        var invOffset = maxOffset > 0 ? 63 / maxOffset : 0;
        for (var s = 0; s < 8; s++)
        {
            ls[s] = Math.Min(63, (int)MathF.Round(invScale * scale[s]));
            lm[s] = Math.Min(63, (int)MathF.Round(invOffset * offset[s]));
        }
        Fp.StoreHalf(dHalf, maxScale / 63);
        Fp.StoreHalf(dminHalf, maxOffset / 63);
        Set(packed, ls, lm);
        // Levels against the scales as stored (F16 d and dmin, 6-bit multipliers), so rounding is not compounded.
        var d = Fp.LoadHalf(dHalf);
        var dmin = Fp.LoadHalf(dminHalf);
        for (var s = 0; s < 8; s++)
        {
            Get(packed, s, out var sc, out var m);
            var ds = d * sc;
            var dm = dmin * m;
            for (var i = 0; i < 32; i++)
                levels[32 * s + i] = ds == 0 ? 0 : Math.Clamp((int)MathF.Round((x[32 * s + i] + dm) / ds), 0, nmax);
        }
    }
}

/// <summary>Q4_K, 144 bytes: f16 d; f16 dmin; u8 scales[12]; u8 qs[128]. x = d·sc·q − dmin·m per 32-value sub-block.</summary>
/// <remarks>qs[32c .. 32c+32) holds sub-block 2c in its low nibbles and sub-block 2c+1 in its high nibbles.</remarks>
internal static unsafe class Q4_KBlock
{
    public const int Bytes = 144;

    public static void DequantizeRow(byte* src, float* y, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes)
        {
            var d = Fp.LoadHalf(src);
            var dmin = Fp.LoadHalf(src + 2);
            var q = src + 16;
            for (var c = 0; c < 4; c++, q += 32)
            {
                KScales.Get(src + 4, 2 * c, out var sc, out var m);
                float d1 = d * sc, m1 = dmin * m;
                KScales.Get(src + 4, 2 * c + 1, out sc, out m);
                float d2 = d * sc, m2 = dmin * m;
                for (var l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
                for (var l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        var levels = stackalloc int[256];
        for (var b = 0; b < nb; b++, src += 256, dst += Bytes)
        {
            KScales.Encode(src, 15, dst, dst + 2, dst + 4, levels);
            var q = dst + 16;
            for (var c = 0; c < 4; c++)
                for (var l = 0; l < 32; l++)
                    q[32 * c + l] = (byte)(levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
        }
    }

    /// <summary>The dot in the order of ggml-cpu's x86 GEMV over repacked Q4_K (llama.cpp repacks every Q4_K
    /// matrix whose row count is a multiple of 8 and multiplies a token that is not in a full group of four with
    /// it): per super-block the exact integer Σ sc·q·x and Σ m·bsum, then <c>acc = fma(isum, d·dx, acc)</c> and
    /// <c>accm = fma(imin, dmin·dx, accm)</c>; the result is acc − accm.</summary>
    public static float Dot(byte* w, in ActRow a, int nb)
    {
        float acc = 0, accm = 0;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            int isum = 0, imin = 0;
            for (var p = 0; p < 4; p++) Pair(w, a, b, p, ref isum, ref imin);
            var dx = a.D[b];
            acc = MathF.FusedMultiplyAdd(isum, Fp.LoadHalf(w) * dx, acc);
            accm = MathF.FusedMultiplyAdd(imin, Fp.LoadHalf(w + 2) * dx, accm);
        }
        return acc - accm;
    }

    /// <summary>As <see cref="Dot"/> in the order of ggml's GEMM over repacked Q4_K (the tokens of each full group
    /// of four in a batch): the two accumulations run per 64-value pair of sub-blocks instead of per super-block.</summary>
    public static float DotQuad(byte* w, in ActRow a, int nb)
    {
        float acc = 0, accm = 0;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var dx = a.D[b];
            float dd = Fp.LoadHalf(w) * dx, dm = Fp.LoadHalf(w + 2) * dx;
            for (var p = 0; p < 4; p++)
            {
                int isum = 0, imin = 0;
                Pair(w, a, b, p, ref isum, ref imin);
                acc = MathF.FusedMultiplyAdd(isum, dd, acc);
                accm = MathF.FusedMultiplyAdd(imin, dm, accm);
            }
        }
        return acc - accm;
    }

    /// <summary>Sub-blocks 2p and 2p+1 of block b: Σ sc·q·x into isum, m·(activation sum) into imin, exactly.</summary>
    private static void Pair(byte* w, in ActRow a, int b, int p, ref int isum, ref int imin)
    {
        var x = a.Q + 256 * b + 64 * p;
        var bs = a.BSums + 16 * b + 4 * p;
        var q = w + 16 + 32 * p;
        KScales.Get(w + 4, 2 * p, out var sc1, out var m1);
        KScales.Get(w + 4, 2 * p + 1, out var sc2, out var m2);
        int s1 = 0, s2 = 0;
        for (var l = 0; l < 32; l++)
        {
            s1 += (q[l] & 0xF) * x[l];
            s2 += (q[l] >> 4) * x[32 + l];
        }
        isum += sc1 * s1 + sc2 * s2;
        imin += m1 * (bs[0] + bs[1]) + m2 * (bs[2] + bs[3]);
    }
}

/// <summary>Q5_K, 176 bytes: f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]. Q4_K plus a fifth bit:
/// bit 2c of qh[l] for value l of sub-block 2c, bit 2c+1 for sub-block 2c+1.</summary>
internal static unsafe class Q5_KBlock
{
    public const int Bytes = 176;

    public static void DequantizeRow(byte* src, float* y, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes)
        {
            var d = Fp.LoadHalf(src);
            var dmin = Fp.LoadHalf(src + 2);
            var qh = src + 16;
            var q = src + 48;
            for (var c = 0; c < 4; c++, q += 32)
            {
                KScales.Get(src + 4, 2 * c, out var sc, out var m);
                float d1 = d * sc, m1 = dmin * m;
                KScales.Get(src + 4, 2 * c + 1, out sc, out m);
                float d2 = d * sc, m2 = dmin * m;
                int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
                for (var l = 0; l < 32; l++) *y++ = d1 * ((q[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - m1;
                for (var l = 0; l < 32; l++) *y++ = d2 * ((q[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        var levels = stackalloc int[256];
        for (var b = 0; b < nb; b++, src += 256, dst += Bytes)
        {
            KScales.Encode(src, 31, dst, dst + 2, dst + 4, levels);
            var qh = dst + 16;
            var q = dst + 48;
            for (var l = 0; l < 32; l++) qh[l] = 0;
            for (var c = 0; c < 4; c++)
                for (var l = 0; l < 32; l++)
                {
                    int lo = levels[64 * c + l], hi = levels[64 * c + 32 + l];
                    q[32 * c + l] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                    qh[l] |= (byte)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
                }
        }
    }

    /// <summary>The dot in the order of ggml-cpu's x86 <c>ggml_vec_dot_q5_K_q8_K</c> (llama.cpp's for every batch
    /// size; Q5_K is not repacked on x86): eight int32 lanes, lane l taking values 4l..4l+3 of every 32 (times the
    /// sub-block scale), <c>acc_l = fma(dx·d, lane_l, acc_l)</c> per super-block; the mins as one scalar
    /// <c>accm = fma(Σ m·bsum, −dx·dmin, accm)</c>; result <see cref="GgmlOrder.Sum8"/>(acc) + accm.</summary>
    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var acc = stackalloc float[8];
        var lane = stackalloc int[8];
        for (var l = 0; l < 8; l++) acc[l] = 0;
        var accm = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var x = a.Q + 256 * b;
            var bs = a.BSums + 16 * b;
            var qh = w + 16;
            var q = w + 48;
            for (var l = 0; l < 8; l++) lane[l] = 0;
            var imin = 0;
            for (var c = 0; c < 4; c++, q += 32)
            {
                KScales.Get(w + 4, 2 * c, out var sc1, out var m1);
                KScales.Get(w + 4, 2 * c + 1, out var sc2, out var m2);
                for (var l = 0; l < 32; l++)
                {
                    lane[l >> 2] += sc1 * ((q[l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4)) * x[64 * c + l];
                    lane[l >> 2] += sc2 * ((q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) * x[64 * c + 32 + l];
                }
                imin += m1 * (bs[4 * c] + bs[4 * c + 1]) + m2 * (bs[4 * c + 2] + bs[4 * c + 3]);
            }
            var dx = a.D[b];
            accm = MathF.FusedMultiplyAdd(imin, -dx * Fp.LoadHalf(w + 2), accm);
            var d = dx * Fp.LoadHalf(w);
            for (var l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return GgmlOrder.Sum8(acc) + accm;
    }
}

/// <summary>Q6_K, 210 bytes: u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d. x = d·sc[i/16]·(q − 32), q 6-bit.</summary>
/// <remarks>Per 128-value half h: value 32k+l (k 0..3, l 0..31) takes its low nibble from ql[64h + l + 32(k&amp;1)]
/// (low nibble for k &lt; 2, high for k ≥ 2) and its top two bits from bits 2k..2k+1 of qh[32h + l].</remarks>
internal static unsafe class Q6_KBlock
{
    public const int Bytes = 210;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Level(byte* block, int i)
    {
        int h = i >> 7, r = i & 127, k = r >> 5, l = r & 31;
        var ql = block[64 * h + l + 32 * (k & 1)];
        var low = k < 2 ? ql & 0xF : ql >> 4;
        var high = (block[128 + 32 * h + l] >> (2 * k)) & 3;
        return low | (high << 4);
    }

    /// <summary>32·Σ sc[g]·(activation sum of group g): the −32 offset folded out of an integer dot.</summary>
    public static int Offset(sbyte* sc, short* bs)
    {
        var s = 0;
        for (var g = 0; g < 16; g++) s += sc[g] * bs[g];
        return 32 * s;
    }

    public static void DequantizeRow(byte* src, float* y, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, y += 256)
        {
            var d = Fp.LoadHalf(src + 208);
            var sc = (sbyte*)(src + 192);
            for (var i = 0; i < 256; i++) y[i] = d * sc[i >> 4] * (Level(src, i) - 32);
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        var scale = stackalloc float[16];
        for (var b = 0; b < nb; b++, src += 256, dst += Bytes)
        {
            float maxScale = 0, amaxScale = 0;
            for (var g = 0; g < 16; g++)
            {
                scale[g] = Fit.Symmetric(src + 16 * g, 16, 32);
                if (MathF.Abs(scale[g]) > amaxScale) { amaxScale = MathF.Abs(scale[g]); maxScale = scale[g]; }
            }
            var sc = (sbyte*)(dst + 192);
            new Span<byte>(dst, Bytes).Clear();
            if (amaxScale == 0) continue;
            var iscale = -128 / maxScale;
            Fp.StoreHalf(dst + 208, 1 / iscale);
            for (var g = 0; g < 16; g++) sc[g] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * scale[g]));
            var d = Fp.LoadHalf(dst + 208);
            for (var i = 0; i < 256; i++)
            {
                var ds = d * sc[i >> 4];
                var l = ds == 0 ? 32 : Math.Clamp((int)MathF.Round(src[i] / ds), -32, 31) + 32;
                int h = i >> 7, r = i & 127, k = r >> 5, li = r & 31;
                dst[64 * h + li + 32 * (k & 1)] |= (byte)((l & 0xF) << (k < 2 ? 0 : 4));
                dst[128 + 32 * h + li] |= (byte)((l >> 4) << (2 * k));
            }
        }
    }

    /// <summary>The dot in the order of ggml-cpu's x86 <c>ggml_vec_dot_q6_K_q8_K</c> (llama.cpp's for every batch
    /// size; Q6_K is not repacked on x86): eight int32 lanes, lane l taking values 4l..4l+3 of every 32 as
    /// sc·q with q unsigned (0..63), less 32·(sc[2l]·bsum[2l] + sc[2l+1]·bsum[2l+1]);
    /// <c>acc_l = fma(dx·d, lane_l, acc_l)</c> per super-block, then <see cref="GgmlOrder.Sum8"/>.</summary>
    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var acc = stackalloc float[8];
        var lane = stackalloc int[8];
        for (var l = 0; l < 8; l++) acc[l] = 0;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var x = a.Q + 256 * b;
            var bs = a.BSums + 16 * b;
            var sc = (sbyte*)(w + 192);
            for (var l = 0; l < 8; l++) lane[l] = -32 * (sc[2 * l] * bs[2 * l] + sc[2 * l + 1] * bs[2 * l + 1]);
            for (var i = 0; i < 256; i++) lane[(i & 31) >> 2] += sc[i >> 4] * Level(w, i) * x[i];
            var d = a.D[b] * Fp.LoadHalf(w + 208);
            for (var l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return GgmlOrder.Sum8(acc);
    }
}
