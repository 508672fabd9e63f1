namespace Sovra.Kernels.Tests;

/// <summary>Seeded random inputs shaped like transformer weights and activations.</summary>
internal static class TestData
{
    public static float[] Gaussian(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            x[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        // A few outliers, as real weight rows have, so the extreme-value paths of the encoders are exercised.
        for (var i = 0; i < count / 97; i++) x[rng.Next(count)] *= 6;
        return x;
    }

    /// <summary>rows × cols Gaussian weights (σ 0.05) quantized row by row to <paramref name="type"/>: the raw bytes.</summary>
    public static byte[] QuantizedRows(Sovra.Gguf.GgmlType type, int rows, int cols, int seed)
    {
        var rowBytes = checked((int)Sovra.Kernels.Formats.QuantFormat.Of(type).RowBytes(cols));
        var bytes = new byte[rowBytes * rows];
        var values = Gaussian(rows * cols, seed, 0.05f);
        for (var r = 0; r < rows; r++)
            Sovra.Kernels.Formats.QuantFormats.Quantize(type, values.AsSpan(r * cols, cols), bytes.AsSpan(r * rowBytes, rowBytes));
        return bytes;
    }

    /// <summary>
    /// Rows whose every quant, scale and min is at its maximum (all-0xFF blocks, every third row) and random bytes in
    /// the others, each block's F16 scales set to small valid values; activations that quantize to ±127 and −128.
    /// Where int16 sums of the integer kernels would overflow first.
    /// </summary>
    public static (byte[] W, float[] X, int Cols) Extremes(Sovra.Gguf.GgmlType type, int rows, int n, int seed)
    {
        var f = Sovra.Kernels.Formats.QuantFormat.Of(type);
        var blocksPerRow = f.BlockSize == 256 ? 2 : 4;
        var cols = blocksPerRow * f.BlockSize;
        var rowBytes = checked((int)f.RowBytes(cols));
        var blockBytes = rowBytes / blocksPerRow;
        var halves = type switch
        {
            Sovra.Gguf.GgmlType.Q4_1 or Sovra.Gguf.GgmlType.Q5_1 or Sovra.Gguf.GgmlType.Q4_K or Sovra.Gguf.GgmlType.Q5_K => new[] { 0, 2 },
            Sovra.Gguf.GgmlType.Q6_K => new[] { 208 },
            _ => new[] { 0 },
        };
        var rng = new Random(seed);
        var bytes = new byte[rowBytes * rows];
        rng.NextBytes(bytes);
        for (var r = 0; r < rows; r++)
            for (var b = 0; b < blocksPerRow; b++)
            {
                var block = bytes.AsSpan(r * rowBytes + b * blockBytes, blockBytes);
                if (r % 3 == 0) block.Fill(0xFF);
                foreach (var h in halves) BitConverter.TryWriteBytes(block[h..], (Half)(0.001f * (1 + rng.Next(9)) * (rng.Next(2) * 2 - 1)));
            }
        var x = new float[n * cols];
        for (var t = 0; t < n; t++)
            for (var k = 0; k < cols; k++)
                x[t * cols + k] = (t % 3) switch { 0 => -1f, 1 => 1f, _ => rng.Next(2) * 2 - 1 };
        return (bytes, x, cols);
    }

    public static double Rmse(float[] a, float[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += (double)(a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(s / a.Length);
    }
}
