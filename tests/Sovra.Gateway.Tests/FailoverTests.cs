using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

public class FailoverTests
{
    private static string Route(params string[] backends) =>
        "  - model: m1\n    strategy: priority\n    candidates:\n" + string.Concat(backends.Select((b, i) => $"      - {{ backend: {b}, priority: {i} }}\n"));

    private static async Task<string> AnswerAsync(TestGateway gw, string key, bool stream = false, params (string, string)[] headers)
    {
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream), headers));
        return $"{(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}";
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task A_failing_status_before_the_first_byte_is_retried_on_the_next_candidate(int status)
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        a.Behaviour = StandInUpstream.Mode.Status;
        a.FailStatus = status;
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu") + Yaml.Backend("b", b.BaseUrl, "eu"), Route("a", "b")), "status" + status);
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var answer = await AnswerAsync(gw, key);
        Assert.StartsWith("200 ", answer);
        Assert.Contains("hello from b", answer);
        Assert.Equal(1, a.Requests);
        Assert.Equal("b", Assert.Single(await gw.Runtime.Store.LedgerRowsAsync(default)).Backend);
    }

    [Fact]
    public async Task A_refused_connection_and_a_first_byte_timeout_are_retried_on_the_next_candidate()
    {
        var deadPort = FreePort();
        await using var slow = await StandInUpstream.StartAsync("slow");
        slow.Behaviour = StandInUpstream.Mode.Hang;
        await using var good = await StandInUpstream.StartAsync("good");
        var backends = Yaml.Backend("dead", new Uri($"http://127.0.0.1:{deadPort}/v1"), "eu")
            + Yaml.Backend("slow", slow.BaseUrl, "eu").Replace("first_byte_ms: 2000", "first_byte_ms: 300")
            + Yaml.Backend("good", good.BaseUrl, "eu");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, Route("dead", "slow", "good")), "refused");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var sw = Stopwatch.StartNew();
        var answer = await AnswerAsync(gw, key, stream: true);
        Assert.StartsWith("200 ", answer);
        Assert.Contains("data: [DONE]", answer);
        Assert.Equal(1, slow.Requests);
        Assert.InRange(sw.ElapsedMilliseconds, 250, 5000);
    }

    [Fact]
    public async Task Retry_After_is_honoured_when_the_only_backend_asks_for_it()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        a.Behaviour = StandInUpstream.Mode.Status;
        a.FailStatus = 429;
        a.RetryAfter = "1";
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu"), Route("a")), "retry-after");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var sw = Stopwatch.StartNew();
        var request = AnswerAsync(gw, key);
        await WaitUntil(() => a.Requests >= 1);
        a.Behaviour = StandInUpstream.Mode.Ok;
        var answer = await request;
        Assert.StartsWith("200 ", answer);
        Assert.Equal(2, a.Requests);
        Assert.InRange(sw.ElapsedMilliseconds, 900, 5000); // it waited the second it was asked to
    }

    [Fact]
    public async Task After_the_first_byte_a_cut_stream_ends_with_an_error_event_and_is_not_restarted_elsewhere()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        a.Behaviour = StandInUpstream.Mode.CutStream;
        a.CutAfterChunks = 2;
        a.ChunkDelayMs = 100; // the gateway has read (and passed on) the first chunks before the connection drops
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu") + Yaml.Backend("b", b.BaseUrl, "eu"), Route("a", "b")), "cut");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var answer = await AnswerAsync(gw, key, stream: true);
        Assert.StartsWith("200 ", answer);
        Assert.Contains("t0 ", answer);
        Assert.Contains("t1 ", answer);
        Assert.Contains("\"code\":\"upstream_interrupted\"", answer);
        Assert.DoesNotContain("[DONE]", answer);
        Assert.Equal(0, b.Requests);
        var row = Assert.Single(await gw.Runtime.Store.LedgerRowsAsync(default));
        Assert.Equal(("stream_cut", 502, "a"), (row.Outcome, row.Status, row.Backend));
    }

    [Fact]
    public async Task The_breaker_ejects_a_failing_backend_probes_it_after_the_cooldown_and_readmits_it()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        a.Behaviour = StandInUpstream.Mode.Status;
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu") + Yaml.Backend("b", b.BaseUrl, "eu"), Route("a", "b")), "breaker");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        for (var i = 0; i < 2; i++) Assert.StartsWith("200 ", await AnswerAsync(gw, key)); // breaker: failures: 2
        Assert.Equal(2, a.Requests);
        Assert.Equal("open", gw.Runtime.State("a").BreakerState);
        for (var i = 0; i < 3; i++) Assert.StartsWith("200 ", await AnswerAsync(gw, key));
        Assert.Equal(2, a.Requests); // ejected: not even tried
        a.Behaviour = StandInUpstream.Mode.Ok;
        await Task.Delay(500); // cooldown_ms: 400
        Assert.Contains("hello from a", await AnswerAsync(gw, key)); // the probe passes and re-admits it
        Assert.Equal("closed", gw.Runtime.State("a").BreakerState);
        Assert.Contains("hello from a", await AnswerAsync(gw, key));
    }

    [Fact]
    public async Task Active_health_checks_eject_a_backend_without_spending_a_request_on_it()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        var backends = Yaml.Backend("a", a.BaseUrl, "eu").Replace("openai-compatible", "sovra") + "    health: { path: /health, interval_ms: 60 }\n"
            + Yaml.Backend("b", b.BaseUrl, "eu");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, Route("a", "b")), "health");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        a.Behaviour = StandInUpstream.Mode.Hang; // /health now answers 503
        await WaitUntil(() => gw.Runtime.State("a").BreakerState == "open");
        Assert.Contains("hello from b", await AnswerAsync(gw, key));
        Assert.Equal(0, a.Requests);
        a.Behaviour = StandInUpstream.Mode.Ok;
        await WaitUntil(() => gw.Runtime.State("a").BreakerState == "closed");
        Assert.Contains("hello from a", await AnswerAsync(gw, key));
    }

    [Fact]
    public async Task Residency_a_bound_request_never_reaches_a_backend_outside_its_jurisdiction_even_when_all_allowed_ones_are_down()
    {
        await using var eu = await StandInUpstream.StartAsync("eu");
        await using var us = await StandInUpstream.StartAsync("us");
        eu.Behaviour = StandInUpstream.Mode.Status;
        var tenants = "  - { name: ministry, models: [m1], jurisdictions: [eu] }\n  - { name: lab, models: [m1], jurisdiction_header: true }\n";
        // "us" is first and cheapest: every strategy would pick it if residency did not remove it.
        var backends = Yaml.Backend("us", us.BaseUrl, "us") + Yaml.Backend("eu", eu.BaseUrl, "eu");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, Route("us", "eu"), tenants), "residency");
        var (_, ministry) = await gw.CreateKeyAsync(new { tenant = "ministry" });
        var (_, lab) = await gw.CreateKeyAsync(new { tenant = "lab" });

        for (var i = 0; i < 4; i++)
        {
            var answer = await AnswerAsync(gw, ministry, stream: i % 2 == 1);
            Assert.StartsWith("503 ", answer);
        }
        // The tenant's binding cannot be widened by a header.
        Assert.StartsWith("403 ", await AnswerAsync(gw, ministry, false, ("X-Sovra-Jurisdiction", "us")));
        // A tenant allowed to choose binds itself with the header.
        Assert.StartsWith("503 ", await AnswerAsync(gw, lab, false, ("X-Sovra-Jurisdiction", "eu")));
        Assert.Equal(0, us.Connections);
        Assert.Equal(0L, us.BytesReceived);
        Assert.Equal(0, us.Requests);
        Assert.True(eu.Requests > 0);
        // The same key without the header is unbound, and "us" answers: the stand-in does count.
        Assert.Contains("hello from us", await AnswerAsync(gw, lab));
        Assert.Equal(1, us.Connections);
    }

    [Theory]
    [InlineData("lowest-cost", "cheap")]
    [InlineData("priority", "dear")]
    public async Task Strategies_pick_their_backend(string strategy, string expected)
    {
        await using var dear = await StandInUpstream.StartAsync("dear");
        await using var cheap = await StandInUpstream.StartAsync("cheap");
        var backends = Yaml.Backend("dear", dear.BaseUrl, "eu") + Yaml.Backend("cheap", cheap.BaseUrl, "eu").Replace("input: 1.0, output: 2.0", "input: 0.1, output: 0.2");
        var route = $"  - model: m1\n    strategy: {strategy}\n    candidates:\n      - {{ backend: dear }}\n      - {{ backend: cheap }}\n";
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, route), "strategy-" + strategy);
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        for (var i = 0; i < 3; i++) Assert.Contains($"hello from {expected}", await AnswerAsync(gw, key));
    }

    [Fact]
    public async Task Weighted_routing_spreads_requests_by_weight()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        var route = "  - model: m1\n    strategy: weighted\n    candidates:\n      - { backend: a, weight: 3 }\n      - { backend: b, weight: 1 }\n";
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu") + Yaml.Backend("b", b.BaseUrl, "eu"), route), "weighted");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        for (var i = 0; i < 80; i++) Assert.StartsWith("200 ", await AnswerAsync(gw, key));
        // Expected 60 / 20; the bounds are ~4.5 standard deviations wide.
        Assert.InRange(a.Requests, 43, 77);
        Assert.Equal(80, a.Requests + b.Requests);
    }

    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    internal static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) throw new TimeoutException("condition not reached in time");
            await Task.Delay(20);
        }
    }
}
