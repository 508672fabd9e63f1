using System.Collections.Concurrent;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Auth;

/// <summary>
/// Key look-ups by hash, cached for a short time so a request does not cost a database read. A key
/// revoked or rotated in this process is dropped at once; another gateway process sharing the database
/// sees it within <see cref="Ttl"/>.
/// </summary>
public sealed class KeyCache(GatewayStore store)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<string, (KeyRecord? Key, long Until)> _byHash = new(StringComparer.Ordinal);

    public ValueTask<KeyRecord?> FindAsync(string secret, CancellationToken ct) => FindAsync(secret.AsSpan(), ct);

    /// <summary>A hit costs one SHA-256 and no allocation; a miss reads the database.</summary>
    public ValueTask<KeyRecord?> FindAsync(ReadOnlySpan<char> secret, CancellationToken ct)
    {
        Span<char> hash = stackalloc char[64];
        ApiKeys.Hash(secret, hash);
        if (_byHash.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(hash, out var hit) && hit.Until > Environment.TickCount64)
            return new ValueTask<KeyRecord?>(hit.Key);
        return MissAsync(new string(hash), ct);
    }

    private async ValueTask<KeyRecord?> MissAsync(string hash, CancellationToken ct)
    {
        var key = await store.FindKeyByHashAsync(hash, ct);
        var now = Environment.TickCount64;
        if (_byHash.Count > 100_000) _byHash.Clear(); // bounded: random keys from an attacker must not grow memory
        _byHash[hash] = (key, now + (long)Ttl.TotalMilliseconds);
        return key;
    }

    public void Invalidate() => _byHash.Clear();
}
