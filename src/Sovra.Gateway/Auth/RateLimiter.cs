using System.Collections.Concurrent;

namespace Sovra.Gateway.Auth;

/// <summary>
/// Requests and tokens per minute per key, in fixed one-minute windows, in this process. (Budgets are
/// shared through the database; per-minute rates are per gateway process, so N processes allow up to N×.)
/// </summary>
public sealed class RateLimiter
{
    private sealed class Window
    {
        public long Minute;
        public int Requests;
        public long Tokens;
    }

    private readonly ConcurrentDictionary<string, Window> _windows = new();

    /// <summary>Counts the request and its estimated tokens when both fit; otherwise counts nothing.</summary>
    public bool TryAdmit(string keyId, int? rpm, int? tpm, long estimatedTokens)
    {
        if (rpm is null && tpm is null) return true;
        var w = _windows.GetOrAdd(keyId, _ => new Window());
        var minute = Environment.TickCount64 / 60_000;
        lock (w)
        {
            if (w.Minute != minute) (w.Minute, w.Requests, w.Tokens) = (minute, 0, 0);
            if (rpm is { } r && w.Requests + 1 > r) return false;
            if (tpm is { } t && w.Tokens + estimatedTokens > t) return false;
            w.Requests++;
            w.Tokens += estimatedTokens;
            return true;
        }
    }

    /// <summary>Replaces an admitted estimate with the real token count.</summary>
    public void Adjust(string keyId, long estimatedTokens, long realTokens)
    {
        if (!_windows.TryGetValue(keyId, out var w)) return;
        lock (w) w.Tokens = Math.Max(0, w.Tokens - estimatedTokens + realTokens);
    }
}
