using Microsoft.AspNetCore.Http;
using Sovra.Gateway.Auth;
using Sovra.Gateway.Config;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Hosting;

/// <summary>Who is calling: a tenant's key (for /v1) or the admin key (for /admin). Each writes the refusal itself.</summary>
public static class GatewayAuth
{
    public static ValueTask<(KeyRecord Key, TenantConfig Tenant)?> TenantKeyAsync(HttpContext ctx, GatewayRuntime rt)
    {
        var found = ApiKeys.TryBearer(ctx.Request.Headers.Authorization, out var secret)
            ? rt.Keys.FindAsync(secret, ctx.RequestAborted) : new ValueTask<KeyRecord?>((KeyRecord?)null);
        // A cached key of a configured tenant: answered without an await.
        if (found.IsCompletedSuccessfully && found.Result is { RevokedMs: null } k && rt.Config.Tenant(k.Tenant) is { } t)
            return new ValueTask<(KeyRecord, TenantConfig)?>((k, t));
        return CheckAsync(ctx, rt, found);
    }

    private static async ValueTask<(KeyRecord Key, TenantConfig Tenant)?> CheckAsync(HttpContext ctx, GatewayRuntime rt, ValueTask<KeyRecord?> found)
    {
        var key = await found;
        if (key is null || key.RevokedMs is not null)
        {
            await OpenAiError.Unauthorized(ctx);
            return null;
        }
        var tenant = rt.Config.Tenant(key.Tenant);
        if (tenant is null)
        {
            await OpenAiError.WriteAsync(ctx, 403, "This key's tenant is not configured on this gateway.", "permission_error", "tenant_not_configured");
            return null;
        }
        return (key, tenant);
    }

    public static async Task<bool> AdminAsync(HttpContext ctx, GatewayRuntime rt)
    {
        var secret = ApiKeys.Bearer(ctx.Request.Headers.Authorization);
        var expected = rt.Config.Admin.KeySha256;
        if (secret is not null && expected.Length == 64 && ApiKeys.HashEquals(ApiKeys.Hash(secret), expected)) return true;
        await OpenAiError.WriteAsync(ctx, 401, "This route needs the admin key.", "invalid_request_error", "invalid_admin_key");
        return false;
    }
}
