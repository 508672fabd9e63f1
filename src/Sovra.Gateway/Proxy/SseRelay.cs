using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Sovra.Gateway.Proxy;

/// <summary>
/// Passes a server-sent-event stream from the upstream to the client as it arrives: every complete
/// event is forwarded byte for byte and flushed at once (no buffering beyond one event). It reads the
/// usage the upstream reports, drops the usage-only chunk when the gateway asked for it on the client's
/// behalf, and holds back the final "[DONE]" so the caller can commit the ledger row before sending it.
/// </summary>
public sealed class SseRelay(PipeWriter client, bool dropUsageChunk, bool keepTranscript)
{
    public enum End { Done, Cut, UpstreamError }

    private const int MaxEventBytes = 4 << 20;
    private readonly MemoryStream? _transcript = keepTranscript ? new MemoryStream() : null;

    public Usage? Usage { get; private set; }
    /// <summary>Events that carried output; the token count of last resort when the upstream reports no usage.</summary>
    public long ContentEvents { get; private set; }

    public async Task<End> RunAsync(Stream upstream, byte[] first, int firstLen, CancellationToken clientAborted, CancellationToken ct)
    {
        var buf = first;
        int start = 0, end = firstLen;
        var sawError = false;
        while (true)
        {
            // Forward every complete event in the buffer, then flush once.
            var forwarded = false;
            while (true)
            {
                var span = buf.AsSpan(start, end - start);
                var (at, sep) = FindEventEnd(span);
                if (at < 0) break;
                var ev = span[..(at + sep)];
                switch (Classify(ev[..at]))
                {
                    case Kind.Done:
                        if (forwarded) await FlushAsync(clientAborted);
                        return sawError ? End.UpstreamError : End.Done;
                    case Kind.Drop:
                        break;
                    case Kind.Error:
                        sawError = true;
                        Forward(ev);
                        forwarded = true;
                        break;
                    default:
                        Forward(ev);
                        forwarded = true;
                        break;
                }
                start += at + sep;
            }
            if (forwarded) await FlushAsync(clientAborted);

            // Keep the partial event at the front; grow only for an event larger than the buffer.
            if (start > 0)
            {
                Buffer.BlockCopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            if (end == buf.Length)
            {
                if (buf.Length >= MaxEventBytes) return End.Cut;
                Array.Resize(ref buf, buf.Length * 2);
            }
            var n = await upstream.ReadAsync(buf.AsMemory(end), ct);
            if (n == 0) return sawError ? End.UpstreamError : End.Cut; // ended without [DONE]
            end += n;
        }
    }

    private void Forward(ReadOnlySpan<byte> ev)
    {
        client.Write(ev);
        _transcript?.Write(ev);
    }

    private async Task FlushAsync(CancellationToken clientAborted)
    {
        var r = await client.FlushAsync(clientAborted);
        if (r.IsCanceled || r.IsCompleted) throw new OperationCanceledException(clientAborted);
    }

    public byte[] Transcript(byte[] tail)
    {
        _transcript!.Write(tail);
        return _transcript.ToArray();
    }

    private enum Kind { Forward, Drop, Done, Error }

    private Kind Classify(ReadOnlySpan<byte> ev)
    {
        var data = DataOf(ev);
        if (data.IsEmpty) return Kind.Forward; // comments, keep-alives, event: lines
        if (data.SequenceEqual("[DONE]"u8)) return Kind.Done;
        if (data.IndexOf("\"usage\""u8) >= 0 && UsageReader.TryRead(data, out var u, out var choicesEmpty))
        {
            Usage = u;
            if (dropUsageChunk && choicesEmpty) return Kind.Drop;
        }
        if (data.StartsWith("{\"error\""u8) || (data.IndexOf("\"error\""u8) >= 0 && IsErrorObject(data))) return Kind.Error;
        ContentEvents++;
        return Kind.Forward;
    }

    private static bool IsErrorObject(ReadOnlySpan<byte> data)
    {
        var r = new Utf8JsonReader(data);
        try
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return false;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("error"u8)) return true;
                r.Read();
                r.Skip();
            }
        }
        catch (JsonException) { }
        return false;
    }

    /// <summary>The payload of the first "data:" line of an event (without the optional space).</summary>
    private static ReadOnlySpan<byte> DataOf(ReadOnlySpan<byte> ev)
    {
        while (!ev.IsEmpty)
        {
            var nl = ev.IndexOf((byte)'\n');
            var line = nl < 0 ? ev : ev[..nl];
            if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];
            if (line.StartsWith("data:"u8))
            {
                line = line[5..];
                if (!line.IsEmpty && line[0] == ' ') line = line[1..];
                return line;
            }
            if (nl < 0) break;
            ev = ev[(nl + 1)..];
        }
        return default;
    }

    /// <summary>Where the first event ends (a blank line: \n\n or \r\n\r\n) and the separator's length.</summary>
    private static (int At, int Sep) FindEventEnd(ReadOnlySpan<byte> s)
    {
        var a = s.IndexOf("\n\n"u8);
        var b = s.IndexOf("\r\n\r\n"u8);
        if (a < 0 && b < 0) return (-1, 0);
        if (b >= 0 && (a < 0 || b < a)) return (b, 4);
        return (a, 2);
    }

    public static byte[] ErrorEvent(string message, string code)
    {
        var json = Hosting.OpenAiError.Body(message, "upstream_error", code);
        var ev = new byte[6 + json.Length + 2];
        "data: "u8.CopyTo(ev);
        json.CopyTo(ev, 6);
        ev[^2] = (byte)'\n';
        ev[^1] = (byte)'\n';
        return ev;
    }
}
