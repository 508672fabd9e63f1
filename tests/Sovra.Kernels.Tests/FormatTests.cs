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

    [Theory]
    [InlineData(ActivationKind.Q8_0, GgmlType.Q8_0)]
    [InlineData(ActivationKind.Q8_1, GgmlType.Q8_1)]
    [InlineData(ActivationKind.Q8_K, GgmlType.Q8_K)]
    public void Activation_quantization_is_ggml_reference_byte_for_byte(ActivationKind kind, GgmlType ggml)
    {
        var x = TestData.Gaussian(256 * 9, 77, 3f);
        x[5] = 0; // an all-zero Q8_K block too
        Array.Clear(x, 512, 256);
        Assert.Equal(GgmlReference.Quantize(ggml, x), KernelProbe.ActivationAsGgml(kind, x));
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
    public void Unsupported_type_is_a_clear_error()
    {
        var e = Assert.Throws<NotSupportedException>(() => QuantFormats.Quantize(GgmlType.IQ2_XS, new float[256], new byte[74]));
        Assert.Contains("IQ2_XS", e.Message);
        Assert.Throws<ArgumentException>(() => QuantFormats.Dequantize(GgmlType.Q4_0, new byte[17], new float[32]));
    }
}
