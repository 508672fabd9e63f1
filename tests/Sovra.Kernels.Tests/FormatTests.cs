using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Kernels.Tests;

/// <summary>Every format against llama.cpp's own code: exact decoding, encoders as good as ggml's, activations identical.</summary>
public class FormatTests
{
    public static TheoryData<GgmlType> Quantized => new()
    {
        GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    public static TheoryData<GgmlType> All => new()
    {
        GgmlType.F32, GgmlType.F16, GgmlType.BF16,
        GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    /// <summary>Random block bytes, with every F16 scale field replaced by a finite random half.</summary>
    private static byte[] RandomBlocks(GgmlType type, int blocks, int seed)
    {
        var info = GgmlTypeInfo.Of(type);
        var rng = new Random(seed);
        var bytes = new byte[blocks * info.BlockBytes];
        rng.NextBytes(bytes);
        int[] halves = type switch
        {
            GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 => [0],
            GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
            GgmlType.Q6_K => [208],
            _ => [],
        };
        for (var b = 0; b < blocks; b++)
            foreach (var o in halves)
            {
                var h = BitConverter.HalfToUInt16Bits((Half)((rng.NextDouble() * 2 - 1) * 0.05));
                bytes[b * info.BlockBytes + o] = (byte)h;
                bytes[b * info.BlockBytes + o + 1] = (byte)(h >> 8);
            }
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Quantized))]
    public void Dequantize_matches_ggml_bit_for_bit_on_random_blocks(GgmlType type)
    {
        var info = GgmlTypeInfo.Of(type);
        const int blocks = 37;
        var bytes = RandomBlocks(type, blocks, 11 + (int)type);
        var expected = GgmlReference.Dequantize(type, bytes, blocks * info.BlockSize);
        var actual = new float[blocks * info.BlockSize];
        QuantFormats.Dequantize(type, bytes, actual);
        for (var i = 0; i < actual.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{type} value {i}: ggml {expected[i]:R}, ours {actual[i]:R}");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Our_encoding_decodes_identically_in_ggml_and_is_as_accurate_as_ggml_reference_quantizer(GgmlType type)
    {
        var info = GgmlTypeInfo.Of(type);
        var n = 256 * 23;
        var x = TestData.Gaussian(n, 5 + (int)type, 0.02f);
        var ours = new byte[info.RowBytes(n)];
        QuantFormats.Quantize(type, x, ours);
        var oursDecodedByGgml = GgmlReference.Dequantize(type, ours, n);
        var oursDecoded = new float[n];
        QuantFormats.Dequantize(type, ours, oursDecoded);
        Assert.Equal(oursDecodedByGgml, oursDecoded);

        var ggmlDecoded = GgmlReference.Dequantize(type, GgmlReference.Quantize(type, x), n);
        var ourError = TestData.Rmse(x, oursDecoded);
        var ggmlError = TestData.Rmse(x, ggmlDecoded);
        Assert.True(ourError <= ggmlError * 1.05 + 1e-12, $"{type}: rmse ours {ourError:E3}, ggml reference {ggmlError:E3}");
    }

    /// <summary>Gaussian blocks, an all-zero block, and blocks whose values sit exactly on rounding ties.</summary>
    private static float[] ActivationSamples()
    {
        var x = TestData.Gaussian(256 * 12, 77, 3f);
        x[5] = 0;
        Array.Clear(x, 512, 256);
        var rng = new Random(5);
        for (var b = 0; b < 8; b++)
        {
            // Block max 127·s (s a power of two) makes 127/max exact, so (k + 0.5)·s lands on a tie.
            var s = MathF.Pow(2, b - 4);
            var block = x.AsSpan(256 * 4 + 32 * b, 32);
            block[0] = (b % 2 == 0 ? 127 : -127) * s;
            for (var j = 1; j < 32; j++) block[j] = (rng.Next(-126, 126) + 0.5f) * s;
        }
        for (var j = 256 * 8; j < 256 * 9; j++) x[j] = (rng.Next(-126, 126) + 0.5f) / 64;   // a Q8_K block of ties
        x[256 * 8] = -127f / 64;
        return x;
    }

    [Theory]
    [InlineData(ActivationKind.Q8_0, GgmlType.Q8_0)]
    [InlineData(ActivationKind.Q8_1, GgmlType.Q8_1)]
    [InlineData(ActivationKind.Q8_K, GgmlType.Q8_K)]
    public void Activation_quantization_is_ggml_cpus_x86_path_byte_for_byte(ActivationKind kind, GgmlType ggml)
    {
        var x = ActivationSamples();
        var expected = GgmlReference.QuantizeCpu(ggml, x);
        Assert.Equal(expected, KernelProbe.ActivationAsGgml(kind, x));
        Assert.Equal(expected, KernelProbe.ActivationAsGgml(kind, x, scalar: true));
    }

    [Fact]
    public void Q8_activation_rounding_follows_the_x86_path_on_hand_computed_blocks()
    {
        // Block 0: max 127, so the multiplier is exactly 1 and .5 values are ties: to even (ggml's scalar
        // reference, roundf, would give 1, 3, -1, -3, 127, -4). Block 1: 127/max = 56.848133 but 1/(max/127)
        // = 56.84813; x·(127/max) is exactly 1.5 (rounds to 2), x·(1/d) is 1.4999999 (would round to 1).
        var x = new float[64];
        float[] ties = [127, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 126.5f, -3.5f];
        ties.CopyTo(x, 0);
        x[32] = 2.234022855758667f;
        x[33] = 0.026386095210909843f;
        var q = KernelProbe.ActivationAsGgml(ActivationKind.Q8_0, x);
        Assert.Equal(new sbyte[] { 127, 0, 2, 2, 0, -2, 126, -4 }, q.AsSpan(2, 8).ToArray().Select(b => (sbyte)b));
        Assert.Equal(1f, (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(q, 0)));
        Assert.Equal(new sbyte[] { 127, 2 }, q.AsSpan(34 + 2, 2).ToArray().Select(b => (sbyte)b));
        Assert.Equal((Half)(2.234022855758667f / 127f), BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(q, 34)));

        // The public entry the engine's Q8_0 KV cache uses is the same rounding.
        var qs = new sbyte[32];
        var d = GgmlRounding.QuantizeQ8Block(x.AsSpan(32, 32), qs);
        Assert.Equal((Half)(2.234022855758667f / 127f), d);
        Assert.Equal(new sbyte[] { 127, 2 }, qs[..2]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Scalar_dot_equals_the_dot_of_what_ggml_decodes(GgmlType type)
    {
        var info = GgmlTypeInfo.Of(type);
        var n = 256 * 7;
        var w = new byte[info.RowBytes(n)];
        QuantFormats.Quantize(type, TestData.Gaussian(n, 3, 0.05f), w);
        var x = TestData.Gaussian(n, 4);
        var wf = GgmlReference.Dequantize(type, w, n);
        var f = QuantFormat.Of(type);
        // The activation as the format's pair decodes it (ggml's own Q8 quantizer and decoder where there is one).
        float[] xf = f.Activation switch
        {
            ActivationKind.Q8_0 => GgmlReference.Dequantize(GgmlType.Q8_0, GgmlReference.Quantize(GgmlType.Q8_0, x), n),
            ActivationKind.Q8_1 => GgmlReference.Dequantize(GgmlType.Q8_0, GgmlReference.Quantize(GgmlType.Q8_0, x), n),
            ActivationKind.Q8_K => GgmlReference.Dequantize(GgmlType.Q8_K, GgmlReference.Quantize(GgmlType.Q8_K, x), n),
            ActivationKind.F16Rounded => GgmlReference.Dequantize(GgmlType.F16, GgmlReference.Quantize(GgmlType.F16, x), n),
            ActivationKind.Bf16Rounded => GgmlReference.Dequantize(GgmlType.BF16, GgmlReference.Quantize(GgmlType.BF16, x), n),
            _ => x,
        };
        double expected = 0, magnitude = 0;
        for (var i = 0; i < n; i++) { expected += (double)wf[i] * xf[i]; magnitude += Math.Abs((double)wf[i] * xf[i]); }
        var actual = KernelProbe.DotScalar(type, w, x);
        // Q8_1's s = d·Σq is F16-rounded, as in ggml, so Q4_1/Q5_1 carry that rounding on top of float summation.
        var tolerance = (f.Activation == ActivationKind.Q8_1 ? 2e-3 : 2e-5) * magnitude;
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"{type}: ours {actual}, reference {expected}, |w·x| {magnitude}");
    }

    [Fact]
    public void F16_decoding_is_exact_for_every_half_value()
    {
        var bytes = new byte[65536 * 2];
        for (var i = 0; i < 65536; i++) { bytes[2 * i] = (byte)i; bytes[2 * i + 1] = (byte)(i >> 8); }
        var expected = GgmlReference.Dequantize(GgmlType.F16, bytes, 65536);
        var actual = new float[65536];
        QuantFormats.Dequantize(GgmlType.F16, bytes, actual);
        for (var i = 0; i < 65536; i++)
        {
            if (float.IsNaN(expected[i])) { Assert.True(float.IsNaN(actual[i]), $"half {i:x4}"); continue; }
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"half {i:x4}: ggml {expected[i]:R}, ours {actual[i]:R}");
        }
    }

    [Fact]
    public void Vector_half_conversions_are_exact_for_every_half_value()
    {
        var (a512, a2) = KernelProbe.AllHalvesVector();
        for (var i = 0; i < 65536; i++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            foreach (var got in new[] { a512, a2 })
            {
                if (got == null) continue;
                if (float.IsNaN(expected)) Assert.True(float.IsNaN(got[i]), $"half {i:x4}");
                else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got[i]), $"half {i:x4}: {expected:R} vs {got[i]:R}");
            }
        }
    }

    [Fact]
    public void Vector_F16_and_BF16_rounding_of_activations_equals_the_scalar_conversions()
    {
        var rng = new Random(8);
        var x = new float[1 << 16];
        for (var i = 0; i < x.Length; i++)
            x[i] = BitConverter.Int32BitsToSingle(rng.Next() | (rng.Next(2) << 31)); // every exponent, both signs
        float[] edges = [0f, -0f, 65504f, 65519.99f, 65520f, -65520f, 6.1035156e-5f, 6.1035152e-5f, 5.9604645e-8f, 2.9802322e-8f,
            2.9802326e-8f, 1e-9f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1.00048828125f, 1.000244140625f];
        edges.CopyTo(x, 0);
        var h = KernelProbe.RoundVector(half: true, x);
        var b = KernelProbe.RoundVector(half: false, x);
        for (var i = 0; i < x.Length; i++)
        {
            var eh = Fp.RoundToHalf(x[i]);
            var eb = Fp.RoundToBf16(x[i]);
            if (float.IsNaN(x[i])) { Assert.True(float.IsNaN(h[i]) && float.IsNaN(b[i])); continue; }
            Assert.True(BitConverter.SingleToInt32Bits(eh) == BitConverter.SingleToInt32Bits(h[i]), $"{x[i]:R}: F16 {eh:R} vs {h[i]:R}");
            Assert.True(BitConverter.SingleToInt32Bits(eb) == BitConverter.SingleToInt32Bits(b[i]), $"{x[i]:R}: BF16 {eb:R} vs {b[i]:R}");
        }
    }

    [Fact]
    public void Unsupported_type_is_a_clear_error()
    {
        var e = Assert.Throws<NotSupportedException>(() => QuantFormats.Quantize(GgmlType.IQ2_XS, new float[256], new byte[74]));
        Assert.Contains("IQ2_XS", e.Message);
        Assert.Throws<ArgumentException>(() => QuantFormats.Dequantize(GgmlType.Q4_0, new byte[17], new float[32]));
    }
}
