using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

public class SecurityTests
{
    private enum Access { Public, Tenant, Admin, Fallback }

    // Every route the gateway maps must be listed here; a new route fails the test until it is classified.
    private static readonly Dictionary<(string, string), Access> Routes = new()
    {
        [("GET", "/healthz")] = Access.Public,
        [("POST", "/v1/chat/completions")] = Access.Tenant,
        [("POST", "/v1/completions")] = Access.Tenant,
        [("POST", "/v1/embeddings")] = Access.Tenant,
        [("GET", "/v1/models")] = Access.Tenant,
        [("GET", "/admin/tenants")] = Access.Admin,
        [("GET", "/admin/keys")] = Access.Admin,
        [("POST", "/admin/keys")] = Access.Admin,
        [("POST", "/admin/keys/{id}/revoke")] = Access.Admin,
        [("POST", "/admin/keys/{id}/rotate")] = Access.Admin,
        [("GET", "/admin/usage")] = Access.Admin,
        [("GET", "/admin/rankings")] = Access.Admin,
        [("GET", "/admin/backends")] = Access.Admin,
        [("GET", "/admin/runtime")] = Access.Admin,
        [("*", "{*path:nonfile}")] = Access.Fallback,
    };

    private static object? BodyFor(string pattern) => pattern switch
    {
        "/v1/chat/completions" => TestGateway.Chat("m1"),
        "/v1/completions" => new { model = "m1", prompt = "x", max_tokens = 4 },
        "/v1/embeddings" => new { model = "m1", input = "x" },
        "/admin/keys" => new { tenant = "acme", name = "from-security-test" },
        _ => null,
    };

    [Fact]
    public async Task Every_route_is_classified_and_answers_each_identity_as_its_class_requires()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        var tenants = "  - { name: acme, models: [m1] }\n  - { name: other, models: [m2] }\n";
        var backends = Yaml.Backend("a", up.BaseUrl, "eu", "[m1, m2]") + "    api_key: upstream-key-must-not-leak\n";
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, tenants: tenants), "security");
        var (_, acme) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var (_, other) = await gw.CreateKeyAsync(new { tenant = "other" });
        var secrets = new[] { acme, other, TestGateway.AdminKey, "upstream-key-must-not-leak" };

        var endpoints = gw.Endpoints();
        var unclassified = endpoints.Where(e => !Routes.ContainsKey(e)).ToList();
        Assert.True(unclassified.Count == 0, "routes not classified in SecurityTests.Routes: " + string.Join(", ", unclassified));
        Assert.Equal(Routes.Count, endpoints.Distinct().Count());

        var identities = new (string Name, string? Key)[] { ("none", null), ("acme", acme), ("other", other), ("admin", TestGateway.AdminKey) };
        foreach (var (method, pattern) in endpoints)
        foreach (var (who, key) in identities)
        {
            var path = pattern == "{*path:nonfile}" ? "/no/such/route" : pattern.Replace("{id}", "key_0000000000000000");
            using var req = new HttpRequestMessage(method == "*" ? HttpMethod.Get : new HttpMethod(method), path);
            if (BodyFor(pattern) is { } body) req.Content = JsonContent.Create(body);
            if (key is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var resp = await gw.Http.SendAsync(req);
            var status = (int)resp.StatusCode;
            var text = await resp.Content.ReadAsStringAsync();
            var what = $"{method} {pattern} as {who}: {status} {text}";
            switch (Routes[(method, pattern)])
            {
                case Access.Public:
                    Assert.True(status == 200, what);
                    break;
                case Access.Tenant:
                    if (who is "none" or "admin") Assert.True(status == 401, what); // the admin key is no tenant key
                    else if (who == "acme") Assert.True(status == 200, what);
                    else Assert.True(status == (pattern == "/v1/models" ? 200 : 404), what); // m1 is not other's: as if it did not exist
                    break;
                case Access.Admin:
                    if (who != "admin") Assert.True(status == 401, what);
                    else Assert.True(status is 200 or 201 or 404, what);
                    break;
                case Access.Fallback:
                    Assert.True(status == 404, what);
                    break;
            }
            foreach (var s in secrets.Where(s => s != TestGateway.AdminKey || pattern != "/admin/keys"))
                Assert.DoesNotContain(s, text);
            if (status >= 400)
            {
                using var doc = JsonDocument.Parse(text); // OpenAI-style error JSON, always
                var message = doc.RootElement.GetProperty("error").GetProperty("message").GetString()!;
                Assert.DoesNotContain("Exception", text);
                Assert.DoesNotContain(" at ", message);
                Assert.DoesNotContain("/tmp", text);
                Assert.DoesNotContain("/work", text);
            }
        }
    }

    [Fact]
    public async Task Models_list_follows_the_identity_and_an_upstream_error_body_is_not_passed_on()
    {
        await using var eu = await StandInUpstream.StartAsync("eu");
        await using var us = await StandInUpstream.StartAsync("us");
        var tenants = "  - { name: acme, models: [m1, m2] }\n  - { name: ministry, models: ['*'], jurisdictions: [eu] }\n";
        var backends = Yaml.Backend("eu", eu.BaseUrl, "eu", "[m1]") + Yaml.Backend("us", us.BaseUrl, "us", "[m2, m3]");
        await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, tenants: tenants), "models");
        var (_, acme) = await gw.CreateKeyAsync(new { tenant = "acme" });
        var (_, acmeNarrow) = await gw.CreateKeyAsync(new { tenant = "acme", models = new[] { "m2" } });
        var (_, ministry) = await gw.CreateKeyAsync(new { tenant = "ministry" });
        async Task<string[]> Models(string key)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var resp = await gw.Http.SendAsync(req);
            using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray();
        }
        Assert.Equal(["m1", "m2"], await Models(acme));
        Assert.Equal(["m2"], await Models(acmeNarrow));
        Assert.Equal(["m1"], await Models(ministry)); // m2 and m3 live only outside its jurisdiction

        us.Behaviour = StandInUpstream.Mode.Status;
        us.FailStatus = 400;
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", acme, TestGateway.Chat("m2")));
        var text = await resp.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.DoesNotContain("/srv/secret/path", text);
    }
}
