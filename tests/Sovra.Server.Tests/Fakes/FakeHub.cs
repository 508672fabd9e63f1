using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sovra.Server.Tests.Fakes;

/// <summary>
/// A stand-in for the Hugging Face Hub on loopback, shaped like its HTTP API: GET /api/models/{owner}/{repo}/tree/main
/// (files with their LFS oid and size), HEAD/GET /{owner}/{repo}/resolve/main/{file} answering 302 to a second host
/// (the "CDN") with X-Linked-Etag / X-Linked-Size / X-Repo-Commit, and a CDN that honours Range requests. It can cut
/// the first transfer in the middle and serve bytes that do not match the published sha256.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _hub;
    private readonly WebApplication _cdn;
    private readonly Dictionary<string, Dictionary<string, byte[]>> _repos = new();

    public FakeHub()
    {
        _hub = Build();
        _cdn = Build();
        _hub.MapGet("/api/models/{owner}/{repo}/tree/{rev}", (string owner, string repo, string rev) =>
        {
            if (!_repos.TryGetValue($"{owner}/{repo}", out var files)) return Results.Json(new { error = "Repository not found" }, statusCode: 404);
            return Results.Json(files.Select(f => new
            {
                type = "file",
                oid = Convert.ToHexStringLower(SHA1.HashData(f.Value)),
                size = f.Value.Length,
                path = f.Key,
                lfs = new { oid = Sha(f.Value), size = f.Value.Length, pointerSize = 134 },
            }));
        });
        _hub.MapMethods("/{owner}/{repo}/resolve/{rev}/{**path}", ["GET", "HEAD"], (HttpContext ctx, string owner, string repo, string rev, string path) =>
        {
            if (!_repos.TryGetValue($"{owner}/{repo}", out var files) || !files.TryGetValue(path, out var bytes)) return Results.NotFound();
            ctx.Response.Headers["X-Repo-Commit"] = "0123456789abcdef0123456789abcdef01234567";
            ctx.Response.Headers["X-Linked-Etag"] = $"\"{Sha(bytes)}\"";
            ctx.Response.Headers["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ctx.Response.Headers.ETag = "\"git-sha1-of-pointer\"";
            ResolveRequests++;
            if (ctx.Request.Headers.Authorization.Count > 0) HubSawToken = true;
            return Results.Redirect(new Uri(CdnAddress, $"blobs/{Sha(bytes)}?repo={owner}/{repo}&path={Uri.EscapeDataString(path)}").ToString());
        });
        _cdn.MapGet("/blobs/{sha}", async (HttpContext ctx, string sha) =>
        {
            var repo = ctx.Request.Query["repo"].ToString();
            var path = ctx.Request.Query["path"].ToString();
            if (ctx.Request.Headers.Authorization.Count > 0) CdnSawToken = true;
            var bytes = _repos[repo][path];
            if (Corrupt) { bytes = (byte[])bytes.Clone(); bytes[bytes.Length / 2] ^= 0xFF; }
            long from = 0;
            var range = ctx.Request.Headers.Range.ToString();
            lock (Ranges) Ranges.Add(range);
            if (range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                from = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
            }
            ctx.Response.ContentLength = bytes.Length - from;
            var cut = CutAfter is { } c && !_cutDone && c > from ? (int)(c - from) : -1;
            if (cut >= 0)
            {
                _cutDone = true;
                await ctx.Response.Body.WriteAsync(bytes.AsMemory((int)from, cut));
                await ctx.Response.Body.FlushAsync();
                ctx.Abort(); // the connection drops in the middle of the body
                return;
            }
            await ctx.Response.Body.WriteAsync(bytes.AsMemory((int)from));
        });
    }

    private bool _cutDone;

    public Uri HubAddress { get; private set; } = null!;
    public Uri CdnAddress { get; private set; } = null!;
    /// <summary>Cut the first transfer that passes this many bytes.</summary>
    public long? CutAfter { get; set; }
    public bool Corrupt { get; set; }
    public List<string> Ranges { get; } = [];
    public int ResolveRequests { get; private set; }
    public bool HubSawToken { get; private set; }
    public bool CdnSawToken { get; private set; }

    public void Add(string repo, string path, byte[] content)
    {
        if (!_repos.TryGetValue(repo, out var files)) _repos[repo] = files = new(StringComparer.Ordinal);
        files[path] = content;
    }

    public static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    public static async Task<FakeHub> StartAsync()
    {
        var hub = new FakeHub();
        await hub._hub.StartAsync();
        await hub._cdn.StartAsync();
        hub.HubAddress = Address(hub._hub);
        hub.CdnAddress = Address(hub._cdn);
        return hub;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");

    private static WebApplication Build()
    {
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        return b.Build();
    }

    public async ValueTask DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _cdn.DisposeAsync();
    }
}
