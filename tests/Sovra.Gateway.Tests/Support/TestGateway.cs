using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sovra.Gateway.Auth;
using Sovra.Gateway.Hosting;
using Sovra.TestSupport;

namespace Sovra.Gateway.Tests.Support;

/// <summary>A gateway in this test process on a free loopback port, from a YAML text, with helpers to make keys and call it.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    public const string AdminKey = "sk-admin-test-0123456789abcdef0123456789abcdef";
    public static readonly string AdminKeySha = ApiKeys.Hash(AdminKey);

    private readonly WebApplication _app;
    public string ConfigPath { get; }
    public string Dir { get; }
    public Uri BaseUrl { get; }
    public HttpClient Http { get; }
    public GatewayRuntime Runtime => _app.Services.GetRequiredService<GatewayRuntime>();

    private TestGateway(WebApplication app, string dir, string configPath)
    {
        _app = app;
        Dir = dir;
        ConfigPath = configPath;
        BaseUrl = new Uri(app.Urls.First());
        Http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<TestGateway> StartAsync(string yaml, string name)
    {
        var dir = RepoPaths.Scratch("gw-" + name + "-" + Guid.NewGuid().ToString("N")[..6]);
        var path = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(path, yaml);
        var app = GatewayHost.Build(path, "127.0.0.1", 0);
        await app.StartAsync();
        return new TestGateway(app, dir, path);
    }

    /// <summary>Creates a key through the admin API; returns its id and its secret.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(object spec)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, "/admin/keys") { Content = JsonContent.Create(spec) };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var resp = await Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        using var doc = JsonDocument.Parse(text);
        return (doc.RootElement.GetProperty("data").GetProperty("id").GetString()!, doc.RootElement.GetProperty("key").GetString()!);
    }

    public static HttpRequestMessage Post(string path, string key, object body, params (string, string)[] headers)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        foreach (var (k, v) in headers) req.Headers.TryAddWithoutValidation(k, v);
        return req;
    }

    public static object Chat(string model, bool stream = false, int? maxTokens = null, object? streamOptions = null) =>
        streamOptions is null
            ? new { model, messages = new[] { new { role = "user", content = "hi" } }, stream, max_tokens = maxTokens ?? 16 }
            : new { model, messages = new[] { new { role = "user", content = "hi" } }, stream, max_tokens = maxTokens ?? 16, stream_options = streamOptions };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3))) await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
