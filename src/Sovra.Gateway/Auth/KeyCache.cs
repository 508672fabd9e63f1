using System.Collections.Concurrent;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Auth;

/// <summary>
/// Key look-ups by hash, kept in memory so a request costs no database read. Every change to the keys
/// (create, revoke, rotate) also counts up the database's key epoch in the same transaction; this
/// process polls that counter (<see cref="PollAsync"/>, every <see cref="PollInterval"/>) and drops
/// everything it holds when it moved, so a revoke or rotate made by another gateway process sharing the
/// database takes effect here within a poll. A change made here drops the cache at once.
/// An entry counts only in the generation it was read in: a look-up that raced a change is never trusted,
/// and while the epoch cannot be read (database down) for longer than <see cref="MaxStale"/>, no entry
/// is trusted at all.
/// </summary>
public sealed class KeyCache(GatewayStore store)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxStale = TimeSpan.FromSeconds(5);
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, (KeyRecord? Key, long Generation)> _byHash = new(StringComparer.Ordinal);
    private long _generation = 1;
    private long _epoch = -1;        // the database's key epoch as last read
    private long _polledAt = long.MinValue / 2; // Environment.TickCount64 of the last successful poll

    /// <summary>Generation of the entries that count now; 0 when the epoch was not read lately (nothing counts).</summary>
    private long Current => Environment.TickCount64 - Volatile.Read(ref _polledAt) <= MaxStale.TotalMilliseconds ? Volatile.Read(ref _generation) : 0;

    public ValueTask<KeyRecord?> FindAsync(string secret, CancellationToken ct) => FindAsync(secret.AsSpan(), ct);

    /// <summary>A hit costs one SHA-256 and no allocation; a miss reads the database (off the caller's thread).</summary>
    public ValueTask<KeyRecord?> FindAsync(ReadOnlySpan<char> secret, CancellationToken ct)
    {
        Span<char> hash = stackalloc char[64];
        ApiKeys.Hash(secret, hash);
        var generation = Current;
        if (generation != 0 && _byHash.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(hash, out var hit) && hit.Generation == generation)
            return new ValueTask<KeyRecord?>(hit.Key);
        return MissAsync(new string(hash), generation, ct);
    }

    private async ValueTask<KeyRecord?> MissAsync(string hash, long generation, CancellationToken ct)
    {
        // The generation is taken before the read: if a change lands meanwhile, the entry is already stale.
        var key = await store.FindKeyByHashAsync(hash, ct);
        if (generation == 0) return key;
        if (_byHash.Count >= MaxEntries) _byHash.Clear(); // bounded: random keys from an attacker must not grow memory
        _byHash[hash] = (key, generation);
        return key;
    }

    /// <summary>Reads the database's key epoch; when it moved since the last poll, nothing cached counts any more.</summary>
    public async Task PollAsync(CancellationToken ct)
    {
        var epoch = await store.KeyEpochAsync(ct);
        if (epoch != Interlocked.Exchange(ref _epoch, epoch)) Invalidate();
        Volatile.Write(ref _polledAt, Environment.TickCount64);
    }

    /// <summary>Drops every entry (a key changed in this process, or the epoch moved).</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _byHash.Clear();
    }

    public int Count => _byHash.Count;
}
