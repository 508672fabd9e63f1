using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

public class AdminTests
{
    private static async Task<JsonElement> GetAsync(TestGateway gw, string path)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);
        using var resp = await gw.Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<(HttpStatusCode, JsonElement)> PostAsync(TestGateway gw, string path)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, path);
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);
        using var resp = await gw.Http.SendAsync(req);
        return (resp.StatusCode, JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task<HttpStatusCode> ChatAsync(TestGateway gw, string key, string model = "m1")
    {
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat(model)));
        return resp.StatusCode;
    }

    [Fact]
    public async Task Keys_are_shown_once_stored_hashed_revoked_and_rotated()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu")), "admin-keys");
        var (id, secret) = await gw.CreateKeyAsync(new { tenant = "acme", name = "ci", requests_per_minute = 100 });
        Assert.StartsWith("sk-sovra-", secret);
        Assert.True(secret.Length > 40);
        var list = await GetAsync(gw, "/admin/keys?tenant=acme");
        Assert.DoesNotContain(secret, list.GetRawText());
        var listed = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.Equal(100, listed.GetProperty("requests_per_minute").GetInt32());
        // Only the hash is in the database.
        var dbBytes = await File.ReadAllBytesAsync(Path.Combine(gw.Dir, "ledger.db"));
        Assert.DoesNotContain(secret, System.Text.Encoding.UTF8.GetString(dbBytes) + string.Concat(Directory.GetFiles(gw.Dir, "ledger.db-wal").Select(f => System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f)))));

        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, secret));
        var (rotStatus, rotated) = await PostAsync(gw, $"/admin/keys/{id}/rotate");
        Assert.Equal(HttpStatusCode.OK, rotStatus);
        var newSecret = rotated.GetProperty("key").GetString()!;
        Assert.NotEqual(secret, newSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(gw, secret));
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, newSecret));
        var (revStatus, _) = await PostAsync(gw, $"/admin/keys/{id}/revoke");
        Assert.Equal(HttpStatusCode.OK, revStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(gw, newSecret));
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(gw, $"/admin/keys/{id}/revoke")).Item1);
        var tenants = await GetAsync(gw, "/admin/tenants");
        Assert.Equal(0, tenants.GetProperty("data").EnumerateArray().First(t => t.GetProperty("name").GetString() == "acme").GetProperty("keys").GetInt32());
    }

    [Fact]
    public async Task Usage_is_grouped_by_tenant_key_model_backend_and_day_and_models_are_ranked()
    {
        await using var a = await StandInUpstream.StartAsync("a");
        await using var b = await StandInUpstream.StartAsync("b");
        b.PromptTokens = 100;
        b.CompletionTokens = 50;
        var backends = Yaml.Backend("a", a.BaseUrl, "eu", "[small]") + Yaml.Backend("b", b.BaseUrl, "eu", "[big]");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends), "admin-usage");
        var (acmeId, acme) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var (_, other) = await gw.CreateKeyAsync(new { tenant = "other" });
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, acme, "small")); // 3 × 18 tokens
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, other, "big")); // 150 tokens
        Assert.Equal(HttpStatusCode.NotFound, await ChatAsync(gw, other, "nope"));

        var byTenant = (await GetAsync(gw, "/admin/usage?group_by=tenant")).GetProperty("data").EnumerateArray()
            .ToDictionary(r => r.GetProperty("group").GetString()!, r => (r.GetProperty("requests").GetInt64(), r.GetProperty("tokens_in").GetInt64() + r.GetProperty("tokens_out").GetInt64()));
        Assert.Equal((3L, 54L), byTenant["acme"]);
        Assert.Equal((1L, 150L), byTenant["other"]);
        var byBackend = (await GetAsync(gw, "/admin/usage?group_by=backend")).GetProperty("data").EnumerateArray().Select(r => r.GetProperty("group").GetString()!).ToArray();
        Assert.Equal(["a", "b"], byBackend);
        var byKey = (await GetAsync(gw, $"/admin/usage?group_by=key&key={acmeId}")).GetProperty("data");
        Assert.Equal(acmeId, Assert.Single(byKey.EnumerateArray()).GetProperty("group").GetString());
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        var byDay = (await GetAsync(gw, $"/admin/usage?group_by=day&from={today}&to={today}")).GetProperty("data");
        var day = Assert.Single(byDay.EnumerateArray());
        Assert.Equal(today, day.GetProperty("group").GetString());
        Assert.Equal(4, day.GetProperty("requests").GetInt64());
        var cost = (await GetAsync(gw, "/admin/usage?group_by=model&model=big")).GetProperty("data")[0].GetProperty("cost_usd").GetDouble();
        Assert.Equal((100 * 1 + 50 * 2) / 1e6, cost, 9);

        var ranking = (await GetAsync(gw, "/admin/rankings")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["big", "small"], ranking.Select(r => r.GetProperty("model").GetString()!).ToArray()); // by tokens
        Assert.Equal(150.0 / 204, ranking[0].GetProperty("token_share").GetDouble(), 6);
        Assert.Equal(0.25, ranking[0].GetProperty("request_share").GetDouble(), 6);
        Assert.Equal(0.75, ranking[1].GetProperty("request_share").GetDouble(), 6);

        using var bad = new HttpRequestMessage(HttpMethod.Get, "/admin/usage?group_by=password");
        bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);
        Assert.Equal(HttpStatusCode.BadRequest, (await gw.Http.SendAsync(bad)).StatusCode);
    }
}
