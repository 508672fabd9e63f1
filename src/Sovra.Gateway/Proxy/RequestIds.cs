using System.Security.Cryptography;

namespace Sovra.Gateway.Proxy;

/// <summary>
/// Request ids: "req_" and 24 hex digits — the time in milliseconds (11), a random number drawn once per
/// process (5), and a counter that starts at a random value (8). Unique without a random draw per request,
/// and in time order, so the ledger's index on them grows at its end instead of at random pages.
/// </summary>
public static class RequestIds
{
    private static readonly uint s_process = RandomNumberGenerator.GetInt32(1 << 20) is var p ? (uint)p : 0;
    private static int s_counter = RandomNumberGenerator.GetInt32(int.MaxValue);

    public static string Next()
    {
        var ms = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() & 0xFFF_FFFF_FFFF; // 44 bits: until the year 2527
        var n = (uint)Interlocked.Increment(ref s_counter);
        return string.Create(28, (ms, n), static (span, s) =>
        {
            "req_".CopyTo(span);
            Hex(span.Slice(4, 11), s.ms);
            Hex(span.Slice(15, 5), s_process);
            Hex(span.Slice(20, 8), s.n);
        });
    }

    private static void Hex(Span<char> into, ulong value)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = "0123456789abcdef"[(int)(value & 0xF)];
            value >>= 4;
        }
    }
}
