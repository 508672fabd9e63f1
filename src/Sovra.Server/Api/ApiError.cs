using System.Text.Json;

namespace Sovra.Server.Api;

/// <summary>An error the client caused or must know about, answered in OpenAI's error shape.</summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error") : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type;

    /// <summary>Seconds to wait before retrying (429, 503), sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);
}

public static class ApiErrorWriter
{
    /// <summary>{"error":{"message":…,"type":…,"param":…,"code":…}}</summary>
    public static byte[] Body(string message, string type, string? param, string? code)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (param != null) w.WriteString("param", param); else w.WriteNull("param");
            if (code != null) w.WriteString("code", code); else w.WriteNull("code");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    public static async Task WriteAsync(Microsoft.AspNetCore.Http.HttpContext context, ApiException e)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = e.Status;
        context.Response.ContentType = "application/json";
        if (e.RetryAfterSeconds is { } s) context.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.Body.WriteAsync(Body(e.Message, e.Type, e.Param, e.Code)).ConfigureAwait(false);
    }
}
