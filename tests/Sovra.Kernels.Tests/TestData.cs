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

    public static double Rmse(float[] a, float[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += (double)(a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(s / a.Length);
    }
}
