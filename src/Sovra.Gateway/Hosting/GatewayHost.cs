using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovra.Gateway.Admin;
using Sovra.Gateway.Config;
using Sovra.Gateway.Proxy;

namespace Sovra.Gateway.Hosting;

/// <summary>
/// How the gateway is hosted: on its own (<see cref="Build"/>, used by <c>sovra gateway</c>) or inside
/// another ASP.NET Core app such as <c>sovra serve</c> (<see cref="AddSovraGateway"/> then
/// <see cref="MapSovraGateway"/>, optionally under a path prefix).
/// </summary>
public static class GatewayHost
{
    /// <summary>Loads and validates the configuration (every error at once) and registers the gateway and its background work.</summary>
    public static IServiceCollection AddSovraGateway(this IServiceCollection services, string configPath)
    {
        var config = ConfigLoader.LoadFile(configPath);
        return services.AddSovraGateway(config, configPath);
    }

    public static IServiceCollection AddSovraGateway(this IServiceCollection services, GatewayConfig config, string? configPath)
    {
        services.AddSingleton(sp => new GatewayRuntime(config, configPath, sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => new GatewayBackground(sp.GetRequiredService<GatewayRuntime>()));
        return services;
    }

    /// <summary>Maps /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /healthz and /admin/*.</summary>
    public static IEndpointRouteBuilder MapSovraGateway(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        var rt = endpoints.ServiceProvider.GetRequiredService<GatewayRuntime>();
        var proxy = new ProxyHandler(rt);
        var root = endpoints.MapGroup(prefix);
        root.MapPost("/v1/chat/completions", ctx => Proxied(ctx, rt, proxy, "chat/completions"));
        root.MapPost("/v1/completions", ctx => Proxied(ctx, rt, proxy, "completions"));
        root.MapPost("/v1/embeddings", ctx => Proxied(ctx, rt, proxy, "embeddings"));
        root.MapGet("/v1/models", ctx => Guarded(ctx, rt, () => ModelsAsync(ctx, rt)));
        root.MapGet("/healthz", ctx => Guarded(ctx, rt, () => ctx.Response.WriteAsync("{\"status\":\"ok\"}")));
        AdminEndpoints.Map(root, rt);
        return endpoints;
    }

    private static async Task Guarded(HttpContext ctx, GatewayRuntime rt, Func<Task> work)
    {
        try
        {
            if (!rt.Ready.IsCompletedSuccessfully) await rt.Ready;
            await work();
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        catch (Exception e)
        {
            await UnhandledAsync(ctx, rt, e);
        }
    }

    /// <summary><see cref="Guarded"/> for the proxied routes, without a closure per request.</summary>
    private static async Task Proxied(HttpContext ctx, GatewayRuntime rt, ProxyHandler proxy, string endpoint)
    {
        try
        {
            if (!rt.Ready.IsCompletedSuccessfully) await rt.Ready;
            await proxy.HandleAsync(ctx, endpoint);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        catch (Exception e)
        {
            await UnhandledAsync(ctx, rt, e);
        }
    }

    private static Task UnhandledAsync(HttpContext ctx, GatewayRuntime rt, Exception e)
    {
        // Logged with its type only; the client gets a fixed sentence (no message, path or trace).
        rt.Log.LogError("unhandled {Error} on {Path}", e.GetType().Name, ctx.Request.Path.Value);
        return OpenAiError.WriteAsync(ctx, 500, "The gateway failed to handle this request.", "server_error", "internal_error");
    }

    /// <summary>The models this key may use: its tenant's and its own allow-lists, routes that exist, and a backend inside the tenant's jurisdictions.</summary>
    private static async Task ModelsAsync(HttpContext ctx, GatewayRuntime rt)
    {
        var auth = await GatewayAuth.TenantKeyAsync(ctx, rt);
        if (auth is null) return;
        var (key, tenant) = auth.Value;
        var cfg = rt.Config;
        var models = cfg.Routes
            .Where(r => tenant.AllowsModel(r.Model) && key.AllowsModel(r.Model))
            .Where(r => r.Candidates.Any(c => cfg.Backend(c.Backend) is { } b && (tenant.Jurisdictions.Count == 0 || tenant.Jurisdictions.Contains(b.Jurisdiction))))
            .Select(r => r.Model).Order(StringComparer.Ordinal);
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            @object = "list",
            data = models.Select(m => new { id = m, @object = "model", created = 0, owned_by = "sovra-gateway" }),
        });
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted);
    }

    /// <summary>A stand-alone gateway: Kestrel on the configured (or given) address, quiet request logging, JSON 404s.</summary>
    public static WebApplication Build(string configPath, string? host = null, int? port = null, Action<ILoggingBuilder>? logging = null)
    {
        var config = ConfigLoader.LoadFile(configPath);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Its request log is off at Warning anyway; at None ASP.NET Core also skips the Activity and the log
        // scope it makes for every request (and HttpClient the trace it would start for every upstream call).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = config.Limits.MaxRequestBytes + 1;
        });
        // Kestrel's own pipes keep dispatching to the thread pool (UnsafePreferInlineScheduling off) even with inline socket
        // completions (ProcessTuning): inlining those too cost ~15 % of JSON requests per second and half of the streams'.
        builder.WebHost.UseUrls($"http://{FormatHost(host ?? config.Listen.Host)}:{port ?? config.Listen.Port}");
        builder.Services.AddSovraGateway(config, configPath);
        var app = builder.Build();
        app.MapSovraGateway();
        app.MapFallback(OpenAiError.NotFound);
        return app;
    }

    private static string FormatHost(string host) => host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
}
