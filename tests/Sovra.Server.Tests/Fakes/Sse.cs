using System.Text;
using System.Text.Json;

namespace Sovra.Server.Tests.Fakes;

/// <summary>Reads an SSE response the strict way: every data line must be valid UTF-8 and JSON (or [DONE]).</summary>
internal static class SseReader
{
    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    public static async Task<(List<JsonElement> Events, bool Done)> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellation = default)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellation);
        var text = Strict.GetString(bytes);
        var events = new List<JsonElement>();
        var done = false;
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.StartsWith("data: ", block);
            var data = block["data: ".Length..];
            if (data == "[DONE]") { done = true; continue; }
            Assert.False(done, "an event after [DONE]");
            events.Add(JsonDocument.Parse(data).RootElement.Clone());
        }
        return (events, done);
    }
}
