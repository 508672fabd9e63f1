using Microsoft.AspNetCore.Http;

namespace Sovra.Server.Api;

/// <summary>Server-sent events as OpenAI streams them: "data: {json}\n\n" per chunk, "data: [DONE]\n\n" at the end.</summary>
internal sealed class Sse(HttpResponse response)
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task StartAsync(CancellationToken cancellation)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellation).ConfigureAwait(false);
    }

    public async Task WriteAsync(byte[] json, CancellationToken cancellation)
    {
        await _lock.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            // One event, one write: "data: " + json + "\n\n" framed in a single buffer.
            var frame = new byte[Prefix.Length + json.Length + Suffix.Length];
            Prefix.CopyTo(frame, 0);
            json.CopyTo(frame, Prefix.Length);
            Suffix.CopyTo(frame, Prefix.Length + json.Length);
            await response.Body.WriteAsync(frame, cancellation).ConfigureAwait(false);
            await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
        }
        finally { _lock.Release(); }
    }

    public async Task DoneAsync(CancellationToken cancellation)
    {
        await response.Body.WriteAsync(Done, cancellation).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
    }
}
