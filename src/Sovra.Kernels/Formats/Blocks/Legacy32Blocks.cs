namespace Sovra.Kernels.Formats.Blocks;

// The 32-value block formats. Nibble order in all of them: byte j of qs holds value j in its low nibble and
// value j+16 in its high nibble. The fifth bit of value j (Q5_*) is bit j of the little-endian uint32 qh.
// Encoders follow ggml's reference rules (the extreme value gets the extreme level); decoders are exact.

/// <summary>Q8_0, 34 bytes: f16 d; int8 qs[32]. x = d·q.</summary>
internal static unsafe class Q8_0Block
{
    public const int Bytes = 34;

    public static void DequantizeRow(byte* src, float* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, dst += 32)
        {
            var d = Fp.LoadHalf(src);
            var q = (sbyte*)(src + 2);
            for (var j = 0; j < 32; j++) dst[j] = q[j] * d;
        }
    }

    /// <summary>Weights: ggml's reference rule (quantize_row_q8_0_ref, what llama-quantize writes): q = roundf(x / d).</summary>
    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += 32, dst += Bytes)
        {
            var amax = 0f;
            for (var j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(src[j]));
            var d = amax / 127f;
            var id = d != 0 ? 1f / d : 0f;
            var q = (sbyte*)(dst + 2);
            for (var j = 0; j < 32; j++) q[j] = (sbyte)MathF.Round(src[j] * id, MidpointRounding.AwayFromZero);
            Fp.StoreHalf(dst, d);
        }
    }

    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var q = (sbyte*)(w + 2);
            var x = a.Q + 32 * b;
            var sumi = 0;
            for (var j = 0; j < 32; j++) sumi += q[j] * x[j];
            sum += sumi * (Fp.LoadHalf(w) * a.D[b]);
        }
        return sum;
    }
}

/// <summary>Q4_0, 18 bytes: f16 d; u8 qs[16]. x = d·(q − 8).</summary>
internal static unsafe class Q4_0Block
{
    public const int Bytes = 18;

    public static void DequantizeRow(byte* src, float* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, dst += 32)
        {
            var d = Fp.LoadHalf(src);
            var qs = src + 2;
            for (var j = 0; j < 16; j++)
            {
                dst[j] = ((qs[j] & 0xF) - 8) * d;
                dst[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += 32, dst += Bytes)
        {
            float amax = 0, max = 0;
            for (var j = 0; j < 32; j++) if (MathF.Abs(src[j]) > amax) { amax = MathF.Abs(src[j]); max = src[j]; }
            var d = max / -8;
            var id = d != 0 ? 1 / d : 0;
            Fp.StoreHalf(dst, d);
            for (var j = 0; j < 16; j++)
            {
                var lo = Math.Min(15, (int)(src[j] * id + 8.5f));
                var hi = Math.Min(15, (int)(src[j + 16] * id + 8.5f));
                dst[2 + j] = (byte)(lo | (hi << 4));
            }
        }
    }

    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var qs = w + 2;
            var x = a.Q + 32 * b;
            var sumi = 0;
            for (var j = 0; j < 16; j++) sumi += ((qs[j] & 0xF) - 8) * x[j] + ((qs[j] >> 4) - 8) * x[j + 16];
            sum += sumi * (Fp.LoadHalf(w) * a.D[b]);
        }
        return sum;
    }
}

/// <summary>Q4_1, 20 bytes: f16 d; f16 m; u8 qs[16]. x = d·q + m. Pairs with Q8_1.</summary>
internal static unsafe class Q4_1Block
{
    public const int Bytes = 20;

    public static void DequantizeRow(byte* src, float* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, dst += 32)
        {
            var d = Fp.LoadHalf(src);
            var m = Fp.LoadHalf(src + 2);
            var qs = src + 4;
            for (var j = 0; j < 16; j++)
            {
                dst[j] = (qs[j] & 0xF) * d + m;
                dst[j + 16] = (qs[j] >> 4) * d + m;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += 32, dst += Bytes)
        {
            float min = float.MaxValue, max = float.MinValue;
            for (var j = 0; j < 32; j++) { min = MathF.Min(min, src[j]); max = MathF.Max(max, src[j]); }
            var d = (max - min) / 15;
            var id = d != 0 ? 1 / d : 0;
            Fp.StoreHalf(dst, d);
            Fp.StoreHalf(dst + 2, min);
            for (var j = 0; j < 16; j++)
            {
                var lo = Math.Min(15, (int)((src[j] - min) * id + 0.5f));
                var hi = Math.Min(15, (int)((src[j + 16] - min) * id + 0.5f));
                dst[4 + j] = (byte)(lo | (hi << 4));
            }
        }
    }

    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var qs = w + 4;
            var x = a.Q + 32 * b;
            var sumi = 0;
            for (var j = 0; j < 16; j++) sumi += (qs[j] & 0xF) * x[j] + (qs[j] >> 4) * x[j + 16];
            sum += Fp.LoadHalf(w) * a.D[b] * sumi + Fp.LoadHalf(w + 2) * a.S[b];
        }
        return sum;
    }
}

/// <summary>Q5_0, 22 bytes: f16 d; u8 qh[4]; u8 qs[16]. x = d·(q − 16).</summary>
internal static unsafe class Q5_0Block
{
    public const int Bytes = 22;

    public static void DequantizeRow(byte* src, float* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, dst += 32)
        {
            var d = Fp.LoadHalf(src);
            var qh = *(uint*)(src + 2);
            var qs = src + 6;
            for (var j = 0; j < 16; j++)
            {
                dst[j] = (((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - 16) * d;
                dst[j + 16] = (((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16) * d;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += 32, dst += Bytes)
        {
            float amax = 0, max = 0;
            for (var j = 0; j < 32; j++) if (MathF.Abs(src[j]) > amax) { amax = MathF.Abs(src[j]); max = src[j]; }
            var d = max / -16;
            var id = d != 0 ? 1 / d : 0;
            Fp.StoreHalf(dst, d);
            uint qh = 0;
            for (var j = 0; j < 16; j++)
            {
                var lo = Math.Min(31, (int)(src[j] * id + 16.5f));
                var hi = Math.Min(31, (int)(src[j + 16] * id + 16.5f));
                dst[6 + j] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                qh |= (uint)((lo >> 4) << j) | (uint)((hi >> 4) << (j + 16));
            }
            *(uint*)(dst + 2) = qh;
        }
    }

    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var qh = *(uint*)(w + 2);
            var qs = w + 6;
            var x = a.Q + 32 * b;
            var sumi = 0;
            for (var j = 0; j < 16; j++)
            {
                var lo = ((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - 16;
                var hi = ((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
                sumi += lo * x[j] + hi * x[j + 16];
            }
            sum += sumi * (Fp.LoadHalf(w) * a.D[b]);
        }
        return sum;
    }
}

/// <summary>Q5_1, 24 bytes: f16 d; f16 m; u8 qh[4]; u8 qs[16]. x = d·q + m. Pairs with Q8_1.</summary>
internal static unsafe class Q5_1Block
{
    public const int Bytes = 24;

    public static void DequantizeRow(byte* src, float* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += Bytes, dst += 32)
        {
            var d = Fp.LoadHalf(src);
            var m = Fp.LoadHalf(src + 2);
            var qh = *(uint*)(src + 4);
            var qs = src + 8;
            for (var j = 0; j < 16; j++)
            {
                dst[j] = ((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) * d + m;
                dst[j + 16] = ((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) * d + m;
            }
        }
    }

    public static void QuantizeRow(float* src, byte* dst, int nb)
    {
        for (var b = 0; b < nb; b++, src += 32, dst += Bytes)
        {
            float min = float.MaxValue, max = float.MinValue;
            for (var j = 0; j < 32; j++) { min = MathF.Min(min, src[j]); max = MathF.Max(max, src[j]); }
            var d = (max - min) / 31;
            var id = d != 0 ? 1 / d : 0;
            Fp.StoreHalf(dst, d);
            Fp.StoreHalf(dst + 2, min);
            uint qh = 0;
            for (var j = 0; j < 16; j++)
            {
                var lo = Math.Min(31, (int)((src[j] - min) * id + 0.5f));
                var hi = Math.Min(31, (int)((src[j + 16] - min) * id + 0.5f));
                dst[8 + j] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                qh |= (uint)((lo >> 4) << j) | (uint)((hi >> 4) << (j + 16));
            }
            *(uint*)(dst + 4) = qh;
        }
    }

    public static float Dot(byte* w, in ActRow a, int nb)
    {
        var sum = 0f;
        for (var b = 0; b < nb; b++, w += Bytes)
        {
            var qh = *(uint*)(w + 4);
            var qs = w + 8;
            var x = a.Q + 32 * b;
            var sumi = 0;
            for (var j = 0; j < 16; j++)
            {
                var lo = (qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
                var hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
                sumi += lo * x[j] + hi * x[j + 16];
            }
            sum += Fp.LoadHalf(w) * a.D[b] * sumi + Fp.LoadHalf(w + 2) * a.S[b];
        }
        return sum;
    }
}
