using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Sovra.Gateway.Auth;
using Sovra.Gateway.Hosting;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Admin;

/// <summary>
/// The admin API under /admin, all behind the admin key: tenants (from the configuration, with their
/// keys), keys (create: the secret is returned once and never again; revoke; rotate), usage by
/// tenant / key / model / backend / day, rankings of models, and the state of every backend.
/// </summary>
public static class AdminEndpoints
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public sealed record CreateKeyRequest(
        string? Tenant, string? Name, List<string>? Models, int? RequestsPerMinute, int? TokensPerMinute,
        long? TokensPerDay, long? TokensPerMonth, double? UsdPerDay, double? UsdPerMonth);

    public static void Map(IEndpointRouteBuilder app, GatewayRuntime rt)
    {
        var admin = app.MapGroup("/admin");
        admin.AddEndpointFilter(async (ctx, next) =>
        {
            try
            {
                await rt.Ready;
                return await GatewayAuth.AdminAsync(ctx.HttpContext, rt) ? await next(ctx) : Results.Empty;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                rt.Log.LogError("unhandled {Error} on {Path}", e.GetType().Name, ctx.HttpContext.Request.Path.Value);
                return Error(500, "The gateway failed to handle this request.");
            }
        });

        admin.MapGet("/tenants", async (HttpContext ctx) =>
        {
            var keys = await rt.Store.ListKeysAsync(null, ctx.RequestAborted);
            return Ok(new
            {
                data = rt.Config.Tenants.Select(t => new
                {
                    name = t.Name, models = t.AllowedModels, jurisdictions = t.Jurisdictions, jurisdiction_header = t.JurisdictionHeader,
                    keys = keys.Count(k => k.Tenant == t.Name && k.RevokedMs is null),
                }),
            });
        });

        admin.MapGet("/keys", async (HttpContext ctx, string? tenant) =>
            Ok(new { data = (await rt.Store.ListKeysAsync(tenant, ctx.RequestAborted)).Select(View) }));

        admin.MapPost("/keys", async (HttpContext ctx) =>
        {
            CreateKeyRequest? req;
            try { req = await JsonSerializer.DeserializeAsync<CreateKeyRequest>(ctx.Request.Body, Json, ctx.RequestAborted); }
            catch (JsonException) { return Error(400, "The body must be a JSON object: {\"tenant\": ..., \"name\": ..., ...}."); }
            if (req?.Tenant is not { Length: > 0 } tenant || rt.Config.Tenant(tenant) is null) return Error(400, "'tenant' must name a configured tenant.");
            var models = req.Models ?? [];
            if (models.Any(m => m.Contains(',') || m.Length == 0)) return Error(400, "'models' must be model names.");
            if (new long?[] { req.RequestsPerMinute, req.TokensPerMinute, req.TokensPerDay, req.TokensPerMonth }.Any(v => v < 0)
                || new double?[] { req.UsdPerDay, req.UsdPerMonth }.Any(v => v < 0 || double.IsNaN(v ?? 0)))
                return Error(400, "Limits and budgets must not be negative.");
            var spec = new KeySpec(tenant, req.Name ?? "", models, req.RequestsPerMinute, req.TokensPerMinute, req.TokensPerDay, req.TokensPerMonth,
                Micros(req.UsdPerDay), Micros(req.UsdPerMonth));
            var secret = ApiKeys.NewSecret();
            var id = ApiKeys.NewId();
            await rt.Store.CreateKeyAsync(id, ApiKeys.Display(secret), ApiKeys.Hash(secret), spec, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ctx.RequestAborted);
            rt.Keys.Invalidate(); // a look-up of this secret before it existed may be cached as unknown
            var created = await rt.Store.GetKeyAsync(id, ctx.RequestAborted);
            return Results.Json(new { key = secret, data = View(created!) }, Json, statusCode: 201);
        });

        admin.MapPost("/keys/{id}/revoke", async (HttpContext ctx, string id) =>
        {
            if (!await rt.Store.RevokeKeyAsync(id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ctx.RequestAborted)) return Error(404, "No active key with this id.");
            rt.Keys.Invalidate();
            return Ok(new { data = View((await rt.Store.GetKeyAsync(id, ctx.RequestAborted))!) });
        });

        admin.MapPost("/keys/{id}/rotate", async (HttpContext ctx, string id) =>
        {
            // Same id, limits and budget; a new secret. The old secret stops working at once.
            var secret = ApiKeys.NewSecret();
            if (!await rt.Store.ReplaceSecretAsync(id, ApiKeys.Display(secret), ApiKeys.Hash(secret), ctx.RequestAborted)) return Error(404, "No active key with this id.");
            rt.Keys.Invalidate();
            return Ok(new { key = secret, data = View((await rt.Store.GetKeyAsync(id, ctx.RequestAborted))!) });
        });

        admin.MapGet("/usage", async (HttpContext ctx, string? group_by, string? from, string? to, string? tenant, string? key, string? model, string? backend) =>
        {
            var by = group_by ?? "day";
            if (!GatewayStore.GroupNames.Contains(by)) return Error(400, $"'group_by' must be one of: {string.Join(", ", GatewayStore.GroupNames)}.");
            if (!Period(from, to, out var f, out var t)) return Error(400, "'from' and 'to' must be dates (yyyy-MM-dd) or ISO 8601 times.");
            var rows = await rt.Store.UsageAsync(new UsageQuery(by, f, t, tenant, key, model, backend), ctx.RequestAborted);
            return Ok(new
            {
                group_by = by, from = Iso(f), to = Iso(t),
                data = rows.Select(r => new { group = r.Group, r.Requests, tokens_in = r.TokensIn, tokens_out = r.TokensOut, cost_usd = r.CostMicros / 1e6, r.Errors }),
            });
        });

        admin.MapGet("/rankings", async (HttpContext ctx, string? from, string? to) =>
        {
            if (!Period(from, to, out var f, out var t)) return Error(400, "'from' and 'to' must be dates (yyyy-MM-dd) or ISO 8601 times.");
            var rows = await rt.Store.RankingsAsync(f, t, ctx.RequestAborted);
            return Ok(new
            {
                from = Iso(f), to = Iso(t),
                data = rows.Select((r, i) => new { rank = i + 1, model = r.Model, r.Requests, r.Tokens, token_share = r.TokenShare, request_share = r.RequestShare }),
            });
        });

        admin.MapGet("/runtime", () => Ok(RuntimeView.Snapshot()));

        admin.MapGet("/backends", () => Ok(new
        {
            data = rt.Config.Backends.Select(b =>
            {
                var s = rt.State(b.Name);
                return new
                {
                    name = b.Name, kind = b.Kind.ToString().ToLowerInvariant(), jurisdiction = b.Jurisdiction, models = b.Models,
                    breaker = s.BreakerState, in_flight = s.InFlight, latency_ms = double.IsNaN(s.LatencyEwmaMs) ? (double?)null : Math.Round(s.LatencyEwmaMs, 2),
                };
            }),
        }));
    }

    private static long? Micros(double? usd) => usd is { } v ? (long)Math.Round(v * 1e6) : null;

    private static object View(KeyRecord k) => new
    {
        id = k.Id, tenant = k.Tenant, name = k.Name, prefix = k.Prefix, models = k.AllowedModels,
        requests_per_minute = k.RequestsPerMinute, tokens_per_minute = k.TokensPerMinute,
        tokens_per_day = k.TokensPerDay, tokens_per_month = k.TokensPerMonth,
        usd_per_day = k.MoneyMicrosPerDay / 1e6, usd_per_month = k.MoneyMicrosPerMonth / 1e6,
        created = Iso(k.CreatedMs), revoked = k.RevokedMs is { } r ? Iso(r) : null,
    };

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>A period [from, to): dates are whole UTC days, to inclusive; defaults to the last 30 days.</summary>
    private static bool Period(string? from, string? to, out long f, out long t)
    {
        var now = DateTimeOffset.UtcNow;
        f = now.AddDays(-30).ToUnixTimeMilliseconds();
        t = now.ToUnixTimeMilliseconds() + 1;
        if (from is not null)
        {
            if (!DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var fv)) return false;
            f = fv.ToUnixTimeMilliseconds();
        }
        if (to is not null)
        {
            if (!DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var tv)) return false;
            t = to.Length == 10 ? tv.AddDays(1).ToUnixTimeMilliseconds() : tv.ToUnixTimeMilliseconds();
        }
        return f <= t;
    }

    private static IResult Ok(object value) => Results.Json(value, Json);

    private static IResult Error(int status, string message) =>
        Results.Text(System.Text.Encoding.UTF8.GetString(OpenAiError.Body(message, "invalid_request_error", null)), "application/json", statusCode: status);
}
