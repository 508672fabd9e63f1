using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovra.Engine.Scheduling;
using Sovra.Server.Api;
using Sovra.Server.Metrics;
using Sovra.Server.Models;

namespace Sovra.Server.Hosting;

/// <summary>
/// The node: Kestrel on the configured address, the OpenAI endpoints, /health, /ready and /metrics,
/// over a registry that loads models on first use. SIGTERM (or <see cref="StopAsync"/>) stops accepting
/// requests, lets running ones finish for up to <see cref="ServerOptions.ShutdownTimeout"/>, then cuts them.
/// </summary>
public sealed class NodeHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Node _node;

    private NodeHost(WebApplication app, Node node)
    {
        _app = app;
        _node = node;
    }

    public Node Node => _node;
    public ModelRegistry Registry => _node.Registry;

    /// <summary>The address Kestrel listens on (with the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public static NodeHost Create(ServerOptions options, IModelLoader loader, bool handleSignals = true, LogLevel logLevel = LogLevel.Warning)
    {
        var settings = new ModelLoadSettings(options.ContextLength, options.Parallel,
            new SchedulerOptions { MaxBatchTokens = options.MaxBatchTokens, PrefillChunk = options.PrefillChunk, PrefixCache = options.PrefixCache },
            options.Threads);
        var registry = new ModelRegistry(options.ModelsDir, options.Models, loader, settings, options.MemoryBudgetBytes);
        NodeMetrics? metrics = null;
        metrics = new NodeMetrics(() => registry.LoadedModels);
        registry.LoadedChanged += (model, loaded) => { if (loaded) model.Scheduler.StepCompleted += metrics.OnStep; };
        var node = new Node(options, registry, metrics);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(logLevel);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);
        if (!handleSignals) builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else k.Listen(Dns.GetHostAddresses(options.Host).First(), options.Port);
        });
        var app = builder.Build();
        var host = new NodeHost(app, node);
        host.Map(app);
        app.Lifetime.ApplicationStopping.Register(() => node.Stopping = true);
        return host;
    }

    private void Map(WebApplication app)
    {
        var node = _node;
        app.MapPost("/v1/chat/completions", Endpoint("chat", c => ChatEndpoint.HandleAsync(c, node)));
        app.MapPost("/v1/completions", Endpoint("completions", c => CompletionsEndpoint.HandleAsync(c, node)));
        app.MapGet("/v1/models", Endpoint("models", c => ModelsEndpoint.ListAsync(c, node)));
        app.MapGet("/v1/models/{id}", Endpoint("models", c => ModelsEndpoint.GetAsync(c, node, (string)c.Request.RouteValues["id"]!)));
        app.MapGet("/health", async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"status\":\"ok\"}");
        });
        app.MapGet("/ready", async ctx =>
        {
            var reason = node.NotReadyReason();
            ctx.Response.StatusCode = reason == null ? 200 : 503;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(ResponseJson.Build(w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("ready", reason == null);
                if (reason != null) w.WriteString("reason", reason);
                w.WriteStartArray("loaded");
                foreach (var m in node.Registry.LoadedModels) w.WriteStringValue(m.Id);
                w.WriteEndArray();
                w.WriteEndObject();
            }));
        });
        app.MapGet("/metrics", async ctx =>
        {
            ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await ctx.Response.WriteAsync(node.Metrics.Registry.Render());
        });
        app.MapFallback(Endpoint("other", c => throw new ApiException(404,
            $"Unknown request URL: {c.Request.Method} {c.Request.Path}. This node serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models, /health, /ready and /metrics.",
            code: "unknown_url")));
    }

    private RequestDelegate Endpoint(string name, Func<HttpContext, Task<int>> handler) => ctx => _node.HandleAsync(ctx, name, handler);

    public async Task StartAsync(CancellationToken cancellation = default)
    {
        await _app.StartAsync(cancellation).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1").TrimEnd('/') + "/");
    }

    /// <summary>Loads the first model in the background so /ready turns true without waiting for a request.</summary>
    public Task WarmUpAsync(CancellationToken cancellation = default)
    {
        var first = Registry.Entries.FirstOrDefault();
        if (first == null) return Task.CompletedTask;
        return Task.Run(async () =>
        {
            using var lease = await Registry.AcquireAsync(first, cancellation).ConfigureAwait(false);
        }, cancellation);
    }

    /// <summary>Runs until SIGTERM / Ctrl+C (or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        _node.Stopping = true;
        await _app.DisposeAsync().ConfigureAwait(false);
        _node.Registry.Dispose();
    }

    /// <summary>For nodes hosted inside another process (tests, embedding apps): no signal handlers.</summary>
    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
