using System.Net;
using Sovra.Gateway.Auth;
using Sovra.Gateway.Config;
using Sovra.Gateway.Storage;
using Sovra.Gateway.Tests.Support;
using Sovra.TestSupport;

namespace Sovra.Gateway.Tests;

/// <summary>
/// The in-memory key cache: a hit reads no database, and a change made through another gateway process
/// (another store on the same database) reaches it through the key epoch, not a time-out.
/// </summary>
public class KeyCacheTests
{
    private static readonly KeySpec Spec = new("acme", "k", [], null, null, null, null, null, null);

    /// <summary>Two stores on one database, as two gateway processes have: "here" caches, "there" changes keys.</summary>
    private sealed class TwoStores(GatewayStore here, GatewayStore there, string? dir) : IAsyncDisposable
    {
        public GatewayStore Here => here;
        public GatewayStore There => there;

        public static async Task<TwoStores> OpenAsync(string kind, Postgres? pg)
        {
            string? dir = null;
            LedgerConfig config;
            if (kind == "postgres") config = new LedgerConfig(LedgerKind.Postgres, pg!.ConnectionString, false, 1);
            else
            {
                dir = RepoPaths.Scratch("gw-keycache");
                config = new LedgerConfig(LedgerKind.Sqlite, Path.Combine(dir, "ledger.db"), false, 1);
            }
            var first = new GatewayStore(config);
            await first.MigrateAsync(default);
            return new TwoStores(first, new GatewayStore(config), dir);
        }

        public async ValueTask DisposeAsync()
        {
            await here.DisposeAsync();
            await there.DisposeAsync();
            if (dir is not null) try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_revoke_or_rotate_through_another_process_is_seen_at_the_next_epoch_poll(string kind)
    {
        await using var pg = kind == "postgres" ? await Postgres.CreateAsync() : null;
        await using var stores = await TwoStores.OpenAsync(kind, pg);
        var (here, there) = (stores.Here, stores.There);
        var cache = new KeyCache(here);
        await cache.PollAsync(default);
        const string secret = "sk-sovra-first", rotated = "sk-sovra-second";
        await there.CreateKeyAsync("key_1", "p", ApiKeys.Hash(secret), Spec, 1, default);
        await cache.PollAsync(default); // the create moved the epoch (an earlier "unknown" answer would be dropped)
        Assert.Equal("key_1", (await cache.FindAsync(secret, default))?.Id);

        // Rotated elsewhere: until this process polls, its cache still holds the old secret; after, only the new one works.
        Assert.True(await there.ReplaceSecretAsync("key_1", "p", ApiKeys.Hash(rotated), default));
        Assert.Equal("key_1", (await cache.FindAsync(secret, default))?.Id);
        await cache.PollAsync(default);
        Assert.Null(await cache.FindAsync(secret, default));
        Assert.Equal("key_1", (await cache.FindAsync(rotated, default))?.Id);

        Assert.True(await there.RevokeKeyAsync("key_1", 2, default));
        await cache.PollAsync(default);
        Assert.NotNull((await cache.FindAsync(rotated, default))?.RevokedMs);
    }

    [Fact]
    public async Task A_hit_reads_no_database_and_a_quiet_epoch_keeps_the_entry()
    {
        await using var stores = await TwoStores.OpenAsync("sqlite", null);
        var (here, there) = (stores.Here, stores.There);
        var cache = new KeyCache(here);
        await there.CreateKeyAsync("key_1", "p", ApiKeys.Hash("sk-sovra-x"), Spec, 1, default);
        await cache.PollAsync(default);
        Assert.Equal("key_1", (await cache.FindAsync("sk-sovra-x", default))?.Id);
        // A hit completes synchronously: no database call, no hop to another thread.
        var hit = cache.FindAsync("sk-sovra-x", default);
        Assert.True(hit.IsCompletedSuccessfully);
        // Polls that find the epoch unchanged keep the entry.
        await cache.PollAsync(default);
        await cache.PollAsync(default);
        Assert.True(cache.FindAsync("sk-sovra-x", default).IsCompletedSuccessfully);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Without_a_poll_nothing_cached_is_trusted()
    {
        await using var stores = await TwoStores.OpenAsync("sqlite", null);
        var (here, there) = (stores.Here, stores.There);
        var cache = new KeyCache(here); // never polled: it cannot know whether a key changed elsewhere
        await there.CreateKeyAsync("key_1", "p", ApiKeys.Hash("sk-sovra-x"), Spec, 1, default);
        Assert.Equal("key_1", (await cache.FindAsync("sk-sovra-x", default))?.Id);
        Assert.True(await there.RevokeKeyAsync("key_1", 2, default));
        Assert.NotNull((await cache.FindAsync("sk-sovra-x", default))?.RevokedMs);
        Assert.Equal(0, cache.Count);
    }

    [SkippableFact]
    public async Task A_key_revoked_through_one_gateway_process_is_refused_by_another_within_two_seconds()
    {
        await using var pg = await Postgres.CreateAsync();
        await using var up = await StandInUpstream.StartAsync("a");
        var dir = RepoPaths.Scratch("gw-revoke");
        var config = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu"), ledger: BudgetTests.Ledger("postgres", pg)));
        GatewayProcess? a = null, b = null;
        try
        {
            a = await GatewayProcess.StartAsync(config, FailoverTests.FreePort());
            b = await GatewayProcess.StartAsync(config, FailoverTests.FreePort());
            var (id, key) = await ProcessTests.CreateKeyAsync(a.Port, new { tenant = "acme" });
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            async Task<HttpStatusCode> CallB()
            {
                using var req = TestGateway.Post($"http://127.0.0.1:{b.Port}/v1/chat/completions", key, TestGateway.Chat("m1"));
                using var resp = await http.SendAsync(req);
                return resp.StatusCode;
            }
            Assert.Equal(HttpStatusCode.OK, await CallB()); // now cached in b
            using (var rev = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{a.Port}/admin/keys/{id}/revoke"))
            {
                rev.Headers.Authorization = new("Bearer", TestGateway.AdminKey);
                using var resp = await http.SendAsync(rev);
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            }
            var revokedAt = Environment.TickCount64;
            while (await CallB() == HttpStatusCode.OK)
            {
                Assert.True(Environment.TickCount64 - revokedAt < 2000, "b still accepts the key 2 s after its revocation");
                await Task.Delay(50);
            }
            Assert.Equal(HttpStatusCode.Unauthorized, await CallB());
        }
        finally
        {
            a?.Dispose();
            b?.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
