namespace Sovra.Engine.Synthetic;

/// <summary>
/// Deterministic weights: xoshiro256** seeded per (model seed, tensor name, row), so rows can be generated in parallel
/// and the file is byte-identical on every machine. Gaussian-like values are the sum of four 16-bit uniforms
/// (Irwin–Hall, variance 1 after scaling): integer arithmetic and one multiply, no libm calls whose last bit could
/// differ between platforms.
/// </summary>
internal struct SyntheticRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SyntheticRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    public static ulong Mix(ulong a, ulong b)
    {
        var x = a ^ (b + 0x9E3779B97F4A7C15UL + (a << 6) + (a >> 2));
        return SplitMix(ref x);
    }

    /// <summary>FNV-1a over the UTF-16 code units of <paramref name="name"/>: stable across runs and runtimes.</summary>
    public static ulong Hash(string name)
    {
        var h = 14695981039346656037UL;
        foreach (var c in name) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    // Sum of four uniforms on {0.5, ..., 65535.5}/65536 has mean 2 and variance 4/12; (sum - 2) * sqrt(3) has variance 1.
    private const float GaussScale = 1.7320508f / 65536f;

    /// <summary>An approximately standard-normal value in (-3.47, 3.47).</summary>
    public float NextGaussian()
    {
        var r = Next();
        var sum = (int)(r & 0xFFFF) + (int)((r >> 16) & 0xFFFF) + (int)((r >> 32) & 0xFFFF) + (int)(r >> 48);
        return (sum * 2 + 4 - 4 * 65536) * (GaussScale * 0.5f);
    }
}
