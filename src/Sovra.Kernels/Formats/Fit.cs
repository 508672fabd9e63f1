namespace Sovra.Kernels.Formats;

/// <summary>
/// Least-squares scale searches the K-quant encoders use (the same idea as ggml's make_qkx / make_qx searches:
/// try a fan of scales around the naive one, re-solve the scale for the levels it gives, keep the best).
/// </summary>
internal static unsafe class Fit
{
    /// <summary>x ≈ scale·q − offset with q in [0, nmax], scale ≥ 0, offset ≥ 0 (the K-quant "min").</summary>
    public static void Affine(float* x, int n, int nmax, out float scale, out float offset)
    {
        float min = x[0], max = x[0];
        for (var i = 1; i < n; i++) { min = MathF.Min(min, x[i]); max = MathF.Max(max, x[i]); }
        if (min > 0) min = 0;
        if (max <= min) { scale = 0; offset = -min; return; }
        float bestScale = (max - min) / nmax, bestMin = min;
        var bestErr = AffineError(x, n, nmax, bestScale, bestMin);
        for (var step = -10; step <= 10; step++)
        {
            var iscale = (nmax + 0.1f * step) / (max - min);
            if (iscale <= 0) continue;
            // Levels for this trial scale, then the (scale, min) that fit them best.
            double sl = 0, sll = 0, sx = 0, slx = 0;
            for (var i = 0; i < n; i++)
            {
                var l = Math.Clamp((int)MathF.Round(iscale * (x[i] - min)), 0, nmax);
                sl += l; sll += (double)l * l; sx += x[i]; slx += l * (double)x[i];
            }
            var det = n * sll - sl * sl;
            if (det <= 0) continue;
            var s = (float)((n * slx - sl * sx) / det);
            var m = (float)((sll * sx - sl * slx) / det);
            if (m > 0) { m = 0; s = sll > 0 ? (float)(slx / sll) : 0; }
            if (s <= 0) continue;
            var err = AffineError(x, n, nmax, s, m);
            if (err < bestErr) { bestErr = err; bestScale = s; bestMin = m; }
        }
        scale = bestScale;
        offset = -bestMin;
    }

    private static double AffineError(float* x, int n, int nmax, float scale, float min)
    {
        double e = 0;
        var inv = scale > 0 ? 1 / scale : 0;
        for (var i = 0; i < n; i++)
        {
            var l = Math.Clamp((int)MathF.Round((x[i] - min) * inv), 0, nmax);
            var d = scale * l + min - x[i];
            e += d * d;
        }
        return e;
    }

    /// <summary>x ≈ scale·q with q in [−nmax, nmax−1]; scale may be negative so the extreme value gets −nmax.</summary>
    public static float Symmetric(float* x, int n, int nmax)
    {
        float amax = 0, max = 0;
        for (var i = 0; i < n; i++)
        {
            var ax = MathF.Abs(x[i]);
            if (ax > amax) { amax = ax; max = x[i]; }
        }
        if (amax == 0) return 0;
        var best = max / -nmax;
        var bestErr = SymmetricError(x, n, nmax, best);
        for (var step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            var iscale = -(nmax + 0.1f * step) / max;
            double slx = 0, sll = 0;
            for (var i = 0; i < n; i++)
            {
                var l = Math.Clamp((int)MathF.Round(iscale * x[i]), -nmax, nmax - 1);
                slx += l * (double)x[i]; sll += (double)l * l;
            }
            if (sll == 0) continue;
            var s = (float)(slx / sll);
            var err = SymmetricError(x, n, nmax, s);
            if (err < bestErr) { bestErr = err; best = s; }
        }
        return best;
    }

    private static double SymmetricError(float* x, int n, int nmax, float scale)
    {
        if (scale == 0) return double.MaxValue;
        double e = 0;
        var inv = 1 / scale;
        for (var i = 0; i < n; i++)
        {
            var l = Math.Clamp((int)MathF.Round(x[i] * inv), -nmax, nmax - 1);
            var d = scale * l - x[i];
            e += d * d;
        }
        return e;
    }
}
