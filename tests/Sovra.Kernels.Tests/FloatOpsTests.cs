namespace Sovra.Kernels.Tests;

/// <summary>The float ops against their definitions computed in double, on lengths that leave vector tails.</summary>
public class FloatOpsTests
{
    private static void Close(double expected, float actual, double tol = 1e-5) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(1027)]
    public void RmsNorm_SiluMul_Softmax_Dot_Axpy_match_their_definitions(int n)
    {
        var x = TestData.Gaussian(n, 1);
        var w = TestData.Gaussian(n, 2);
        var y = new float[n];
        FloatOps.RmsNorm(x, w, 1e-6f, y);
        var ms = x.Sum(v => (double)v * v) / n;
        for (var i = 0; i < n; i++) Close(x[i] / Math.Sqrt(ms + 1e-6) * w[i], y[i]);

        FloatOps.SiluMul(x, w, y);
        for (var i = 0; i < n; i++) Close(x[i] / (1 + Math.Exp(-x[i])) * w[i], y[i]);

        var s = (float[])x.Clone();
        s[0] = float.NegativeInfinity;
        if (n == 1) s[0] = 3;
        FloatOps.Softmax(s);
        var max = x.Skip(n == 1 ? 0 : 1).Max();
        var z = x.Select((v, i) => i == 0 && n > 1 ? 0 : Math.Exp(v - max)).Sum();
        for (var i = 0; i < n; i++) Close(i == 0 && n > 1 ? 0 : Math.Exp((n == 1 ? 3 : x[i]) - (n == 1 ? 3 : max)) / (n == 1 ? 1 : z), s[i]);

        Close(x.Zip(w, (a, b) => (double)a * b).Sum(), FloatOps.Dot(x, w), 1e-4);

        var acc = (float[])w.Clone();
        FloatOps.Axpy(0.5f, x, acc);
        for (var i = 0; i < n; i++) Close(w[i] + 0.5 * x[i], acc[i]);
    }

    [Fact]
    public void Rope_rotates_pairs_by_base_power_angles()
    {
        const int headDim = 8, dims = 8, pos = 5;
        var cos = new float[dims / 2];
        var sin = new float[dims / 2];
        FloatOps.RopeAngles(pos, dims, 10000f, 1f, cos, sin);
        var x = TestData.Gaussian(2 * headDim, 3);
        var neox = (float[])x.Clone();
        var normal = (float[])x.Clone();
        FloatOps.RopeNeox(neox, headDim, dims, cos, sin);
        FloatOps.RopeNormal(normal, headDim, dims, cos, sin);
        for (var h = 0; h < 2; h++)
            for (var i = 0; i < dims / 2; i++)
            {
                var theta = pos * Math.Pow(10000, -2.0 * i / dims);
                double a = x[h * 8 + i], b = x[h * 8 + i + 4];
                Close(a * Math.Cos(theta) - b * Math.Sin(theta), neox[h * 8 + i]);
                Close(a * Math.Sin(theta) + b * Math.Cos(theta), neox[h * 8 + i + 4]);
                a = x[h * 8 + 2 * i]; b = x[h * 8 + 2 * i + 1];
                Close(a * Math.Cos(theta) - b * Math.Sin(theta), normal[h * 8 + 2 * i]);
                Close(a * Math.Sin(theta) + b * Math.Cos(theta), normal[h * 8 + 2 * i + 1]);
            }
        Assert.Throws<ArgumentException>(() => FloatOps.RopeNeox(new float[10], 8, 8, cos, sin));
    }
}
