using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

public class ProxyTests
{
    private static async Task<(StandInUpstream Up, TestGateway Gw, string Key)> StartAsync(string name, string extraBackend = "")
    {
        var up = await StandInUpstream.StartAsync("a");
        var gw = await TestGateway.StartAsync(Yaml.Config(
            Yaml.Backend("a", up.BaseUrl, "eu", "[m1-upstream, emb]", "    aliases: { m1: m1-upstream }\n    api_key: upstream-secret-123") + extraBackend), name);
        var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme", name = "t" });
        return (up, gw, key);
    }

    [Fact]
    public async Task Non_streaming_chat_is_proxied_with_the_upstream_model_name_and_its_own_key_and_recorded()
    {
        var (up, gw, key) = await StartAsync("nonstream");
        await using var _ = up;
        await using var __ = gw;
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1")));
        var text = await resp.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("hello from a", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.True(up.Bodies.TryDequeue(out var sent));
        using var sentDoc = JsonDocument.Parse(sent!);
        Assert.Equal("m1-upstream", sentDoc.RootElement.GetProperty("model").GetString());
        Assert.Equal("hi", sentDoc.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.True(up.Authorizations.TryDequeue(out var auth));
        Assert.Equal("Bearer upstream-secret-123", auth); // the backend's key, never the client's
        var rows = await gw.Runtime.Store.LedgerRowsAsync(default);
        var row = Assert.Single(rows);
        Assert.Equal((11L, 7L), (row.TokensIn, row.TokensOut));
        Assert.Equal(11 * 1 + 7 * 2, row.CostMicros); // $1 / $2 per million tokens
        Assert.Equal("acme", row.Tenant);
        Assert.Equal("m1", row.Model);
        Assert.Equal("a", row.Backend);
        Assert.Equal(200, row.Status);
        Assert.Equal(resp.Headers.GetValues("x-request-id").Single(), row.RequestId);
    }

    [Fact]
    public async Task Stream_chunks_reach_the_client_before_the_upstream_has_finished()
    {
        var (up, gw, key) = await StartAsync("incremental");
        await using var _ = up;
        await using var __ = gw;
        up.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        // The upstream is held after its first chunk: that chunk must already be here.
        var firstLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("data: {", firstLine);
        Assert.Contains("t0 ", firstLine);
        up.Gate.SetResult();
        var rest = await reader.ReadToEndAsync();
        Assert.EndsWith("data: [DONE]\n\n", rest);
        Assert.Contains("t3 ", rest);
    }

    [Fact]
    public async Task Usage_is_asked_for_on_the_clients_behalf_and_its_extra_chunk_is_stripped()
    {
        var (up, gw, key) = await StartAsync("usage");
        await using var _ = up;
        await using var __ = gw;
        using var resp = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream: true)));
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(up.Bodies.TryDequeue(out var sent));
        Assert.Contains("\"include_usage\":true", sent);
        Assert.DoesNotContain("\"usage\"", text); // the client did not ask for it
        Assert.Equal(4, CountChunks(text));
        var row = Assert.Single(await gw.Runtime.Store.LedgerRowsAsync(default));
        Assert.Equal((11L, 7L), (row.TokensIn, row.TokensOut));

        // A client that asks for usage gets the chunk, unchanged.
        using var resp2 = await gw.Http.SendAsync(TestGateway.Post("/v1/chat/completions", key, TestGateway.Chat("m1", stream: true, streamOptions: new { include_usage = true })));
        var text2 = await resp2.Content.ReadAsStringAsync();
        Assert.Contains("\"usage\":{\"prompt_tokens\":11", text2);
        Assert.Equal(5, CountChunks(text2));
    }

    private static int CountChunks(string sse) => sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Count(e => e.StartsWith("data: {"));

    [Fact]
    public async Task Completions_and_embeddings_are_proxied_too()
    {
        var (up, gw, key) = await StartAsync("other-endpoints");
        await using var _ = up;
        await using var __ = gw;
        using var c = await gw.Http.SendAsync(TestGateway.Post("/v1/completions", key, new { model = "m1", prompt = "say", max_tokens = 5 }));
        Assert.Contains("\"text\":\"hello from a\"", await c.Content.ReadAsStringAsync());
        using var e = await gw.Http.SendAsync(TestGateway.Post("/v1/embeddings", key, new { model = "emb", input = "x" }));
        Assert.Contains("\"embedding\":[0.25,-0.5,1", await e.Content.ReadAsStringAsync());
        using var bad = await gw.Http.SendAsync(TestGateway.Post("/v1/embeddings", key, new { model = "emb", input = "x", stream = true }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(2, (await gw.Runtime.Store.LedgerRowsAsync(default)).Count(r => r.Status == 200));
    }

    [Fact]
    public async Task Malformed_requests_get_a_typed_400_and_never_reach_the_backend()
    {
        var (up, gw, key) = await StartAsync("malformed");
        await using var _ = up;
        await using var __ = gw;
        foreach (var body in new[] { "not json", "[1,2]", "{\"messages\":[]}", "{\"model\":5}", "{\"model\":\"m1\",\"stream\":\"yes\"}", "{\"model\":\"m1\",\"max_tokens\":-3}", "{\"model\":\"m1\"} trailing" })
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var resp = await gw.Http.SendAsync(req);
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
            using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
            Assert.Equal("invalid_request_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        Assert.Equal(0, up.Requests);
    }
}
