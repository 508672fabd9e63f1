using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Sovra.Gateway.Hosting;

/// <summary>
/// Errors in the OpenAI shape: {"error":{"message","type","code"}}. Messages are fixed sentences written
/// here; no exception text, path, key or stack trace ever reaches a client.
/// </summary>
public static class OpenAiError
{
    public static byte[] Body(string message, string type, string? code)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    public static async Task WriteAsync(HttpContext ctx, int status, string message, string type, string? code = null)
    {
        if (ctx.Response.HasStarted) return;
        var body = Body(message, type, code);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        try { await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted); }
        catch (OperationCanceledException) { }
    }

    public static Task Unauthorized(HttpContext ctx) =>
        WriteAsync(ctx, 401, "Missing or invalid API key. Send 'Authorization: Bearer <key>'.", "invalid_request_error", "invalid_api_key");

    public static Task NotFound(HttpContext ctx) => WriteAsync(ctx, 404, "No such route.", "invalid_request_error", "not_found");
}
