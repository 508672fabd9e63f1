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
    private readonly ConcurrentDictionary<string, (KeyRecord? Key, long Until)> _byHash = new();

    public async ValueTask<KeyRecord?> FindAsync(string secret, CancellationToken ct)
    {
        var hash = ApiKeys.Hash(secret);
        var now = Environment.TickCount64;
        if (_byHash.TryGetValue(hash, out var hit) && hit.Until > now) return hit.Key;
        var key = await store.FindKeyByHashAsync(hash, ct);
        if (_byHash.Count > 100_000) _byHash.Clear(); // bounded: random keys from an attacker must not grow memory
        _byHash[hash] = (key, now + (long)Ttl.TotalMilliseconds);
        return key;
    }

    public void Invalidate() => _byHash.Clear();
}
