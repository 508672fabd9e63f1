using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sovra.Gateway.Config;
using Sovra.Gateway.Storage;
using Sovra.Gateway.Tests.Support;
using Sovra.TestSupport;
using Xunit.Abstractions;

namespace Sovra.Gateway.Tests;

/// <summary>The real gateway process: killed again and again under load, and three of them on one PostgreSQL.</summary>
public class ProcessTests(ITestOutputHelper output)
{
    internal static async Task<(string Id, string Key)> CreateKeyAsync(int port, object spec)
    {
        using var http = new HttpClient();
        using var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/admin/keys") { Content = JsonContent.Create(spec) };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);
        using var resp = await http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        var root = JsonDocument.Parse(text).RootElement;
        return (root.GetProperty("data").GetProperty("id").GetString()!, root.GetProperty("key").GetString()!);
    }

    /// <summary>
    /// A client's log: a request is acknowledged when the client holds its complete answer (the whole JSON
    /// body, or a stream through "data: [DONE]"). Each logical request carries its own Idempotency-Key and is
    /// retried with it until acknowledged, as a careful client does when its gateway dies under it.
    /// </summary>
    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("sqlite-full")]
    [InlineData("postgres")]
    public async Task An_acknowledged_request_is_in_the_ledger_exactly_once_however_often_the_gateway_is_killed(string kind)
    {
        await using var pg = kind == "postgres" ? await Postgres.CreateAsync() : null;
        await using var up = await StandInUpstream.StartAsync("a");
        up.DelayMs = 5;
        up.ChunkDelayMs = 5;
        var dir = RepoPaths.Scratch("gw-kill-" + kind);
        var config = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu"), ledger: BudgetTests.Ledger(kind, pg)));
        var port = FailoverTests.FreePort();
        var gw = await GatewayProcess.StartAsync(config, port);
        try
        {
            var key = (await CreateKeyAsync(port, new { tenant = "acme", tokens_per_month = 1_000_000_000 })).Key;
            var acked = new ConcurrentBag<string>();
            using var stop = new CancellationTokenSource();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            async Task Worker(int w)
            {
                for (var i = 0; !stop.IsCancellationRequested && i < 10_000; i++)
                {
                    var idem = $"w{w}-{i}";
                    var stream = (w + i) % 2 == 0;
                    for (var attempt = 0; attempt < 400; attempt++)
                    {
                        try
                        {
                            using var resp = await http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream), ("Idempotency-Key", idem)),
                                HttpCompletionOption.ResponseHeadersRead);
                            if ((int)resp.StatusCode == 200 && await AcknowledgedAsync(resp, stream))
                            {
                                acked.Add(idem);
                                break;
                            }
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or JsonException) { }
                        await Task.Delay(25);
                    }
                }
            }
            var workers = Enumerable.Range(0, 6).Select(w => Task.Run(() => Worker(w))).ToArray();
            // Each kill lands after a few more acknowledgements (so it hits a running load whatever the machine's speed).
            var rnd = new Random(7);
            for (var kill = 0; kill < 4; kill++)
            {
                var target = acked.Count + rnd.Next(4, 12);
                await FailoverTests.WaitUntil(() => acked.Count >= target, 60_000);
                await Task.Delay(rnd.Next(0, 40));
                output.WriteLine($"kill {kill} at {acked.Count} acknowledged");
                gw.Kill();
                gw.Dispose();
                gw = await GatewayProcess.StartAsync(config, port);
            }
            var final = acked.Count + 10;
            await FailoverTests.WaitUntil(() => acked.Count >= final, 60_000);
            stop.Cancel();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
            gw.Kill();

            await using var store = new GatewayStore(kind == "postgres"
                ? new LedgerConfig(LedgerKind.Postgres, pg!.ConnectionString, false, 1)
                : new LedgerConfig(LedgerKind.Sqlite, Path.Combine(dir, "ledger.db"), false, 1));
            var rows = await store.LedgerRowsAsync(default);
            var charged = rows.Where(r => r.Status == 200 && r.Outcome == "ok").ToList();
            output.WriteLine($"{kind}: {acked.Count} acknowledged, {rows.Count} ledger rows, {charged.Count} charged, {rows.Count(r => r.Status == 499)} cut off by a kill");
            var byIdem = charged.GroupBy(r => r.IdempotencyKey!).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(acked.Count >= 26, $"only {acked.Count} requests acknowledged");
            Assert.Equal(acked.Count, acked.Distinct().Count());
            var missing = acked.Where(a => !byIdem.ContainsKey(a)).ToList();
            Assert.True(missing.Count == 0, $"acknowledged but not in the ledger: {string.Join(", ", missing.Take(10))}");
            var twice = byIdem.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToList();
            Assert.True(twice.Count == 0, $"charged more than once: {string.Join(", ", twice.Take(10))}");
            // The budget counts what the ledger charges, no more (in-flight reservations of killed processes aside).
            var keyId = charged[0].KeyId;
            var used = await store.BudgetAsync(keyId, "m" + DateTime.UtcNow.ToString("yyyy-MM"), default);
            Assert.Equal(rows.Sum(r => r.TokensIn + r.TokensOut), used.Tokens);
        }
        finally
        {
            gw.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Acknowledged: a stream's "data: [DONE]" line has arrived (not waiting for the connection to end), or a JSON body is complete.</summary>
    private static async Task<bool> AcknowledgedAsync(HttpResponseMessage resp, bool stream)
    {
        if (!stream) return JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.TryGetProperty("choices", out _);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
            if (line == "data: [DONE]") return true;
        return false;
    }

    [SkippableFact]
    public async Task Three_gateway_processes_on_one_PostgreSQL_admit_at_most_three_of_fifty_concurrent_requests()
    {
        await using var pg = await Postgres.CreateAsync();
        await using var up = await StandInUpstream.StartAsync("a");
        up.DelayMs = 400;
        up.CompletionTokens = -1;
        var dir = RepoPaths.Scratch("gw-multi");
        var config = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu"), ledger: BudgetTests.Ledger("postgres", pg)));
        var gws = new List<GatewayProcess>();
        try
        {
            foreach (var port in new[] { FailoverTests.FreePort(), FailoverTests.FreePort(), FailoverTests.FreePort() }.Distinct())
                gws.Add(await GatewayProcess.StartAsync(config, port));
            Assert.Equal(3, gws.Count);
            var body = TestGateway.Chat("m1", maxTokens: 1000);
            var est = BudgetTests.Estimate(body, 1000);
            var key = (await CreateKeyAsync(gws[0].Port, new { tenant = "acme", tokens_per_day = 3 * est + est / 2 })).Key;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var codes = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            {
                using var req = TestGateway.Post($"http://127.0.0.1:{gws[i % 3].Port}/v1/chat/completions", key, body);
                using var resp = await http.SendAsync(req);
                return (int)resp.StatusCode;
            }));
            Assert.Equal(3, codes.Count(c => c == 200));
            Assert.Equal(47, codes.Count(c => c == 429));
            Assert.Equal(3, up.Requests);
        }
        finally
        {
            foreach (var g in gws) g.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
