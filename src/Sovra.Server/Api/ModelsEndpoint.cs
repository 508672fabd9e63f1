using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sovra.Server.Models;

namespace Sovra.Server.Api;

/// <summary>GET /v1/models and /v1/models/{id}: every model file the node can serve, loaded or not.</summary>
internal static class ModelsEndpoint
{
    public static async Task<int> ListAsync(HttpContext context, Node node)
    {
        node.Registry.Rescan();
        var loaded = node.Registry.LoadedModels.Select(m => m.Id).ToHashSet();
        var body = ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var e in node.Registry.Entries) Model(w, e, loaded.Contains(e.Id));
            w.WriteEndArray();
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        return 200;
    }

    public static async Task<int> GetAsync(HttpContext context, Node node, string id)
    {
        var entry = node.FindModel(id);
        var loaded = node.Registry.LoadedModels.Any(m => m.Id == id);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(ResponseJson.Build(w => Model(w, entry, loaded)), context.RequestAborted).ConfigureAwait(false);
        return 200;
    }

    private static void Model(Utf8JsonWriter w, ModelEntry e, bool loaded)
    {
        w.WriteStartObject();
        w.WriteString("id", e.Id);
        w.WriteString("object", "model");
        w.WriteNumber("created", e.Modified.ToUnixTimeSeconds());
        w.WriteString("owned_by", "sovra");
        w.WriteNumber("size_bytes", e.SizeBytes);
        w.WriteBoolean("loaded", loaded);
        w.WriteEndObject();
    }
}
