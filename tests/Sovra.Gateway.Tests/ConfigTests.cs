using System.Text.RegularExpressions;
using Sovra.Gateway.Config;
using Sovra.Gateway.Tests.Support;
using Sovra.TestSupport;

namespace Sovra.Gateway.Tests;

public class ConfigTests
{
    [Fact]
    public void Every_error_is_reported_at_once_with_its_path()
    {
        var yaml = """
            admin: { key_sha256: nothex }
            ledger: { sqlite: a.db, postgres: "Host=x" }
            bakends: []
            backends:
              - name: a
                kind: vllm
                base_url: "ftp://x"
                jurisdiction: eu
                models: [m1]
                max_concurrency: -1
              - name: b
                base_url: http://127.0.0.1:1/v1
                models: []
                price: { input: cheap }
                timeouts: { first_byte_ms: 5000, total_ms: 10 }
              - name: a
                base_url: http://127.0.0.1:2/v1
                jurisdiction: eu
                models: [m1]
                aliases: { fast: m9 }
            routes:
              - model: pub
                strategy: fastest
                candidates:
                  - { backend: nowhere }
              - model: pub2
                candidates: []
            tenants:
              - name: t
                models: [ghost]
                jurisdictions: [mars]
                jurisdiction_header: maybe
            """;
        var e = Assert.Throws<GatewayConfigException>(() => ConfigLoader.Parse(yaml, "/tmp/gw.yaml", _ => null));
        var expected = new[]
        {
            "admin.key_sha256", "ledger:", "bakends:", "backends[0].kind", "backends[0].base_url", "backends[0].max_concurrency",
            "backends[1].models", "backends[1].jurisdiction", "backends[1].price.input", "backends[1].timeouts.total_ms",
            "backends[2].aliases.fast", "routes[0].strategy", "routes[0].candidates[0].backend", "routes[1].candidates",
            "tenants[0].models", "tenants[0].jurisdictions", "tenants[0].jurisdiction_header",
        };
        foreach (var path in expected)
            Assert.True(e.Errors.Any(m => m.StartsWith(path, StringComparison.Ordinal)), $"no error for {path} in: {string.Join(" | ", e.Errors)}");
        Assert.Contains("gw.yaml", e.Message);
    }

    [Fact]
    public void Secrets_come_from_the_environment_and_a_missing_variable_is_an_error()
    {
        var yaml = """
            admin: { key_env: GW_ADMIN }
            backends:
              - { name: a, base_url: "http://127.0.0.1:1/v1", jurisdiction: eu, models: [m1], api_key_env: GW_UPSTREAM }
            tenants: [ { name: t, models: [m1] } ]
            """;
        var env = new Dictionary<string, string> { ["GW_ADMIN"] = "a-long-enough-admin-key", ["GW_UPSTREAM"] = "up-key" };
        var cfg = ConfigLoader.Parse(yaml, "/tmp/gw.yaml", n => env.GetValueOrDefault(n));
        Assert.Equal("up-key", cfg.Backends[0].ApiKey);
        Assert.Equal(Sovra.Gateway.Auth.ApiKeys.Hash("a-long-enough-admin-key"), cfg.Admin.KeySha256);
        Assert.Equal("m1", Assert.Single(cfg.Routes).Model); // served models need no explicit route
        var e = Assert.Throws<GatewayConfigException>(() => ConfigLoader.Parse(yaml, "/tmp/gw.yaml", _ => null));
        Assert.Equal(2, e.Errors.Count);
        Assert.DoesNotContain("a-long-enough-admin-key", e.Message);
    }

    [Fact]
    public void The_example_in_the_docs_is_valid()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "gateway.md"));
        var yaml = Regex.Match(doc, "```yaml\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(yaml);
        var env = new Dictionary<string, string> { ["SOVRA_ADMIN_KEY"] = "an-admin-key-of-some-length", ["PARTNER_API_KEY"] = "x" };
        var cfg = ConfigLoader.Parse(yaml, Path.Combine(RepoPaths.Root, "gateway.yaml"), n => env.GetValueOrDefault(n));
        Assert.True(cfg.Backends.Count >= 3);
        Assert.Contains(cfg.Routes, r => r.Strategy == RouteStrategy.LeastOutstanding);
        Assert.Contains(cfg.Tenants, t => t.Jurisdictions.Count > 0);
    }

    [Fact]
    public async Task A_changed_file_is_reloaded_without_dropping_a_request_in_flight_and_a_broken_one_is_refused()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        string Config(string target) => Yaml.Config(Yaml.Backend("a", a.BaseUrl, "eu") + Yaml.Backend("b", b.BaseUrl, "eu"),
            $"  - model: m1\n    candidates:\n      - {{ backend: {target} }}\n");
        await using var gw = await TestGateway.StartAsync(Config("a"), "reload");
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
        a.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = Task.Run(async () =>
        {
            using var r = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream: true)));
            return await r.Content.ReadAsStringAsync();
        });
        await FailoverTests.WaitUntil(() => a.Requests == 1);

        await File.WriteAllTextAsync(gw.ConfigPath, Config("b") + "\n# reloaded\n");
        await FailoverTests.WaitUntil(() => gw.Runtime.Config.Routes.First(r => r.Model == "m1").Candidates[0].Backend == "b");
        using (var r = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1"))))
            Assert.Contains("hello from b", await r.Content.ReadAsStringAsync());
        a.Gate.SetResult();
        var old = await inFlight;
        Assert.Contains("t3 ", old);
        Assert.EndsWith("data: [DONE]\n\n", old);

        var before = gw.Runtime.Config;
        await File.WriteAllTextAsync(gw.ConfigPath, "backends: [ { name: broken } ]\n");
        await Task.Delay(800);
        Assert.Same(before, gw.Runtime.Config);
    }
}
