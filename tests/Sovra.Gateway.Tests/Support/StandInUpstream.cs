using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Sovra.Gateway.Tests.Support;

/// <summary>
/// A small OpenAI-speaking server on loopback that stands in for a model server. It can be told to
/// fail (status, Retry-After), to wait before answering, to cut a stream part-way, and it counts every
/// TCP connection and request byte it receives, so a test can prove that nothing reached it.
/// </summary>
public sealed class StandInUpstream : IAsyncDisposable
{
    public enum Mode { Ok, Status, CutStream, Hang }

    private readonly WebApplication _app;
    private int _connections;
    private long _bytes;
    private int _requests;

    public string Name { get; }
    public int Port { get; }
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/v1");

    public volatile Mode Behaviour = Mode.Ok;
    public volatile int FailStatus = 500;
    public volatile string? RetryAfter;
    public int DelayMs;
    public int Chunks = 4;
    public int ChunkDelayMs;
    public int CutAfterChunks = 2;
    public long PromptTokens = 11;
    /// <summary>Completion tokens reported; -1: report max_tokens of the request.</summary>
    public long CompletionTokens = 7;
    /// <summary>When set, a stream pauses after its first chunk until this completes.</summary>
    public TaskCompletionSource? Gate;

    public int Connections => Volatile.Read(ref _connections);
    public long BytesReceived => Interlocked.Read(ref _bytes);
    public int Requests => Volatile.Read(ref _requests);
    public ConcurrentQueue<string> Bodies { get; } = new();
    public ConcurrentQueue<string?> Authorizations { get; } = new();

    private StandInUpstream(string name, WebApplication app, int port)
    {
        Name = name;
        _app = app;
        Port = port;
    }

    public static async Task<StandInUpstream> StartAsync(string name)
    {
        StandInUpstream? self = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, lo => lo.Use(next => async conn =>
        {
            Interlocked.Increment(ref self!._connections);
            await next(conn);
        })));
        var app = builder.Build();
        app.Use(async (ctx, next) =>
        {
            Interlocked.Add(ref self!._bytes, ctx.Request.ContentLength ?? 0);
            await next();
        });
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "m", @object = "model" } } }));
        app.MapGet("/health", () => self!.Behaviour == Mode.Ok ? Results.Ok() : Results.StatusCode(503));
        app.MapPost("/v1/chat/completions", ctx => self!.HandleAsync(ctx, "chat"));
        app.MapPost("/v1/completions", ctx => self!.HandleAsync(ctx, "text"));
        app.MapPost("/v1/embeddings", ctx => self!.HandleAsync(ctx, "embed"));
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        self = new StandInUpstream(name, app, port);
        return self;
    }

    private async Task HandleAsync(HttpContext ctx, string kind)
    {
        Interlocked.Increment(ref _requests);
        var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
        Bodies.Enqueue(body);
        Authorizations.Enqueue(ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var model = root.GetProperty("model").GetString();
        var stream = root.TryGetProperty("stream", out var s) && s.GetBoolean();
        var includeUsage = root.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.GetBoolean();
        var maxTokens = root.TryGetProperty("max_tokens", out var mt) ? mt.GetInt64() : 16;
        var completion = CompletionTokens < 0 ? maxTokens : CompletionTokens;
        if (DelayMs > 0) await Task.Delay(DelayMs, ctx.RequestAborted);
        switch (Behaviour)
        {
            case Mode.Status:
                ctx.Response.StatusCode = FailStatus;
                if (RetryAfter is { } ra) ctx.Response.Headers.RetryAfter = ra;
                await ctx.Response.WriteAsync("{\"error\":{\"message\":\"stand-in failure at /srv/secret/path\",\"type\":\"server_error\"}}");
                return;
            case Mode.Hang:
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                return;
        }
        var usage = new { prompt_tokens = PromptTokens, completion_tokens = kind == "embed" ? 0 : completion, total_tokens = PromptTokens + (kind == "embed" ? 0 : completion) };
        if (kind == "embed")
        {
            await ctx.Response.WriteAsJsonAsync(new { @object = "list", model, data = new[] { new { @object = "embedding", index = 0, embedding = new[] { 0.25, -0.5, 1.0 } } }, usage });
            return;
        }
        if (!stream)
        {
            object choice = kind == "chat"
                ? new { index = 0, message = new { role = "assistant", content = $"hello from {Name}" }, finish_reason = "stop" }
                : new { index = 0, text = $"hello from {Name}", finish_reason = "stop" };
            await ctx.Response.WriteAsJsonAsync(new { id = "cmpl-" + Name, @object = kind == "chat" ? "chat.completion" : "text_completion", created = 1, model, choices = new[] { choice }, usage });
            return;
        }
        ctx.Response.ContentType = "text/event-stream";
        await ctx.Response.Body.FlushAsync();
        for (var i = 0; i < Chunks; i++)
        {
            if (Behaviour == Mode.CutStream && i == CutAfterChunks)
            {
                ctx.Abort(); // the connection drops mid-answer
                return;
            }
            object delta = kind == "chat" ? new { index = 0, delta = new { content = $"t{i} " }, finish_reason = (string?)null } : new { index = 0, text = $"t{i} ", finish_reason = (string?)null };
            await WriteEvent(ctx, JsonSerializer.Serialize(new { id = "cmpl-" + Name, @object = kind == "chat" ? "chat.completion.chunk" : "text_completion", created = 1, model, choices = new[] { delta } }));
            if (i == 0 && Gate is { } g) await g.Task.WaitAsync(ctx.RequestAborted);
            if (ChunkDelayMs > 0) await Task.Delay(ChunkDelayMs, ctx.RequestAborted);
        }
        if (includeUsage)
            await WriteEvent(ctx, JsonSerializer.Serialize(new { id = "cmpl-" + Name, @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage }));
        await WriteEvent(ctx, "[DONE]");
    }

    private static async Task WriteEvent(HttpContext ctx, string data)
    {
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + data + "\n\n"), ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        Gate?.TrySetResult();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2))) await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
