using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovra.Gateway.Proxy;

/// <summary>Thrown for a request body that is not what the endpoint needs; becomes a 400 with this message.</summary>
public sealed class BadRequestException(string message) : Exception(message);

/// <summary>
/// The few top-level fields of an OpenAI request the gateway must read or change (model, stream,
/// stream_options, max_tokens); every other field is copied through byte for byte, never re-serialised.
/// </summary>
public sealed class RequestBody
{
    private readonly byte[] _json;
    // (name, start, end) of each top-level member, offsets into _json: [start, end) covers "name": value.
    private readonly List<(string Name, int Start, int End)> _members = [];
    private readonly Dictionary<string, (int ValueStart, int ValueEnd)> _values = new(StringComparer.Ordinal);

    public string Model { get; }
    public bool Stream { get; }
    public bool ClientAskedUsage { get; }
    public long? MaxTokens { get; }
    public int Length => _json.Length;

    public RequestBody(byte[] json)
    {
        _json = json;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 128 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new BadRequestException("the request body must be a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var start = (int)reader.TokenStartIndex;
                var name = reader.GetString()!;
                reader.Read();
                var valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                var end = (int)reader.BytesConsumed;
                if (!_values.TryAdd(name, (valueStart, end))) throw new BadRequestException($"field '{name}' is given twice");
                _members.Add((name, start, end));
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) throw new BadRequestException("the request body is not one JSON object");
        }
        catch (JsonException)
        {
            throw new BadRequestException("the request body is not valid JSON");
        }

        Model = Value("model") is { ValueKind: JsonValueKind.String } m && m.GetString() is { Length: > 0 } s ? s : throw new BadRequestException("'model' is required (a string)");
        Stream = Value("stream") is { } st && (st.ValueKind is JsonValueKind.True or JsonValueKind.False ? st.GetBoolean() : throw new BadRequestException("'stream' must be true or false"));
        ClientAskedUsage = Value("stream_options") is { ValueKind: JsonValueKind.Object } so && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        var mt = Value("max_completion_tokens") ?? Value("max_tokens");
        if (mt is { ValueKind: JsonValueKind.Number } n)
            MaxTokens = n.TryGetInt64(out var v) && v >= 0 ? v : throw new BadRequestException("'max_tokens' must be a non-negative integer");
        else if (mt is { ValueKind: not JsonValueKind.Null }) throw new BadRequestException("'max_tokens' must be a non-negative integer");
    }

    private JsonElement? Value(string name)
    {
        if (!_values.TryGetValue(name, out var span)) return null;
        var r = new Utf8JsonReader(_json.AsSpan(span.ValueStart, span.ValueEnd - span.ValueStart));
        return JsonElement.ParseValue(ref r);
    }

    /// <summary>The body for the upstream: its own model name and, for a stream, include_usage switched on.</summary>
    public byte[] ForUpstream(string upstreamModel, bool askUsage)
    {
        var buffer = new ArrayBufferWriter<byte>(_json.Length + 64);
        buffer.Write("{\"model\":"u8);
        using (var w = new Utf8JsonWriter(buffer)) w.WriteStringValue(upstreamModel);
        if (askUsage)
        {
            var options = Value("stream_options") is { ValueKind: JsonValueKind.Object } so ? JsonObject.Create(so)! : new JsonObject();
            options["include_usage"] = true;
            buffer.Write(",\"stream_options\":"u8);
            buffer.Write(Encoding.UTF8.GetBytes(options.ToJsonString()));
        }
        foreach (var (name, start, end) in _members)
        {
            if (name == "model" || (askUsage && name == "stream_options")) continue;
            buffer.Write(","u8);
            buffer.Write(_json.AsSpan(start, end - start));
        }
        buffer.Write("}"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
