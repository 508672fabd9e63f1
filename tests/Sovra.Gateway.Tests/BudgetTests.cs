using System.Net;
using System.Text.Json;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

public class BudgetTests
{
    /// <summary>The ledger section for a test kind: "sqlite" (row log), "sqlite-full" (synchronous=FULL: group commit) or "postgres".</summary>
    internal static string Ledger(string kind, Postgres? pg) => kind switch
    {
        "postgres" => $"ledger: {{ postgres: \"{pg!.ConnectionString}\" }}",
        "sqlite-full" => "ledger: { sqlite: ledger.db, synchronous: full }",
        _ => "ledger: { sqlite: ledger.db }",
    };

    /// <summary>The gateway's reservation for one request: ⌈body bytes / 4⌉ + 8 prompt tokens, plus max_tokens.</summary>
    internal static long Estimate(object body, long maxTokens) => JsonSerializer.SerializeToUtf8Bytes(body, JsonSerializerOptions.Web).Length / 4 + 8 + maxTokens;

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("sqlite-full")]
    [InlineData("postgres")]
    public async Task Fifty_concurrent_requests_against_a_budget_for_three_admit_exactly_three(string kind)
    {
        await using var pg = kind == "postgres" ? await Postgres.CreateAsync() : null;
        await using var up = await StandInUpstream.StartAsync("a");
        up.DelayMs = 300; // all fifty are in flight together
        up.CompletionTokens = -1; // real usage: 11 + max_tokens, just under the estimate
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu"), ledger: Ledger(kind, pg)), "budget-" + kind);
        var body = TestGateway.Chat("m1", maxTokens: 1000);
        var est = Estimate(body, 1000);
        var (keyId, key) = await gw.CreateKeyAsync(new { tenant = "acme", tokens_per_day = 3 * est + est / 2 });
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body));
            return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
        }));
        Assert.Equal(3, results.Count(r => r.Item1 == 200));
        Assert.Equal(47, results.Count(r => r.Item1 == 429 && r.Item2.Contains("budget_exceeded")));
        Assert.Equal(3, up.Requests);
        // Settled with the real usage; nothing stays reserved.
        var day = "d" + DateTime.UtcNow.ToString("yyyy-MM-dd");
        var b = await gw.Runtime.Store.BudgetAsync(keyId, day, default);
        Assert.Equal((3 * 1011L, 0L), (b.Tokens, b.Reserved));
        var rows = await gw.Runtime.Store.LedgerRowsAsync(default);
        Assert.Equal(50, rows.Count);
        Assert.Equal(3 * 1011L, rows.Sum(r => r.TokensIn + r.TokensOut));
        // The next request is refused at once, and a fresh key of the same tenant is not affected.
        using var again = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body));
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
    }

    [Fact]
    public async Task A_failed_request_releases_its_reservation_and_a_money_budget_holds_too()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu")), "budget-release");
        var body = TestGateway.Chat("m1", maxTokens: 100);
        var est = Estimate(body, 100);
        // $1 / $2 per million: a reservation costs est_in * 1 + 100 * 2 micro-dollars; allow one.
        var oneRequestUsd = ((est - 100) * 1 + 100 * 2) / 1e6;
        var (keyId, key) = await gw.CreateKeyAsync(new { tenant = "acme", usd_per_day = oneRequestUsd * 1.5 });
        up.Behaviour = StandInUpstream.Mode.Status;
        for (var i = 0; i < 4; i++)
        {
            using var failed = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }
        var day = "d" + DateTime.UtcNow.ToString("yyyy-MM-dd");
        Assert.Equal((0L, 0L), ((await gw.Runtime.Store.BudgetAsync(keyId, day, default)).Money, (await gw.Runtime.Store.BudgetAsync(keyId, day, default)).MoneyReserved));
        up.Behaviour = StandInUpstream.Mode.Ok;
        await Task.Delay(500); // the breaker ejected the backend; its cool-down is 400 ms
        using (var ok = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(11 * 1 + 7 * 2L, (await gw.Runtime.Store.BudgetAsync(keyId, day, default)).Money);
        // Real usage was small: room is left for one more, then the money budget refuses.
        using (var ok2 = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body))) Assert.Equal(HttpStatusCode.OK, ok2.StatusCode);
        up.DelayMs = 300;
        var pair = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            using var r = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, body));
            return (int)r.StatusCode;
        }));
        Assert.Contains(429, pair);
    }

    [Fact]
    public async Task Requests_per_minute_are_limited_per_key()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu")), "rpm");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme", requests_per_minute = 3 });
        var (_, other) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var codes = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            using var r = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1")));
            codes.Add((int)r.StatusCode);
        }
        Assert.Equal([200, 200, 200, 429, 429], codes);
        using var o = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", other, TestGateway.Chat("m1")));
        Assert.Equal(HttpStatusCode.OK, o.StatusCode);
    }

    [Fact]
    public async Task An_Idempotency_Key_returns_the_first_answer_and_charges_once()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu")), "idem");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        foreach (var stream in new[] { false, true })
        {
            var idem = "idem-" + stream;
            var answers = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                using var r = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream), ("Idempotency-Key", idem)));
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Equal(i > 0, r.Headers.Contains("Idempotent-Replayed"));
                answers.Add(await r.Content.ReadAsStringAsync());
            }
            Assert.All(answers, a => Assert.Equal(answers[0], a));
            // Another body under the same key is an error, not a replay.
            using var mismatch = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream, maxTokens: 3), ("Idempotency-Key", idem)));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);
        }
        Assert.Equal(2, up.Requests);
        var rows = await gw.Runtime.Store.LedgerRowsAsync(default);
        Assert.Equal(2, rows.Count);
        Assert.Equal(2, rows.Select(r => r.IdempotencyKey).Distinct().Count());
        // A failed attempt is not stored: the retry runs again.
        up.Behaviour = StandInUpstream.Mode.Status;
        using (var f = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1"), ("Idempotency-Key", "k-fail")))) Assert.Equal(HttpStatusCode.ServiceUnavailable, f.StatusCode);
        up.Behaviour = StandInUpstream.Mode.Ok;
        await Task.Delay(500); // breaker cool-down
        using (var s = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1"), ("Idempotency-Key", "k-fail")))) Assert.Equal(HttpStatusCode.OK, s.StatusCode);
    }
}
