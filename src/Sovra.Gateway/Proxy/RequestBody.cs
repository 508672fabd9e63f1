using System.Collections.Concurrent;
using System.Text.Json;

namespace Sovra.Gateway.Proxy;

/// <summary>Thrown for a request body that is not what the endpoint needs; becomes a 400 with this message.</summary>
public sealed class BadRequestException(string message) : Exception(message);

/// <summary>
/// The few top-level fields of an OpenAI request the gateway must read or change (model, stream,
/// stream_options, max_tokens); every other field is copied through byte for byte, never re-serialised.
/// One pass of a JSON reader finds them; the body for the upstream is spliced from the original bytes.
/// </summary>
public sealed class RequestBody
{
    private readonly byte[] _json;
    // Each top-level member: its name and [Start, End) offsets into _json covering "name": value.
    private readonly List<Member> _members = new(8);
    private int _streamOptions = -1; // index in _members of a stream_options object, or -1

    private readonly record struct Member(string Name, int Start, int End, int ValueStart);

    public string Model { get; }
    public bool Stream { get; }
    public bool ClientAskedUsage { get; }
    public long? MaxTokens { get; }
    public int Length => _json.Length;

    public RequestBody(byte[] json)
    {
        _json = json;
        string? model = null;
        bool? stream = null;
        var streamSeen = false;
        var askedUsage = false;
        // max_completion_tokens, when present (null included), wins over max_tokens.
        (bool Seen, JsonTokenType Kind, long Value, bool Int) mct = default, mt = default;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 128 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new BadRequestException("the request body must be a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var start = (int)reader.TokenStartIndex;
                var name = Name(ref reader);
                reader.Read();
                var valueStart = (int)reader.TokenStartIndex;
                switch (name)
                {
                    case "model":
                        model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        break;
                    case "stream":
                        streamSeen = true;
                        stream = reader.TokenType switch
                        {
                            JsonTokenType.True => true,
                            JsonTokenType.False => false,
                            _ => null,
                        };
                        break;
                    case "stream_options":
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            _streamOptions = _members.Count;
                            askedUsage = IncludeUsageOf(reader);
                        }
                        break;
                    case "max_completion_tokens":
                        mct = TokensOf(reader);
                        break;
                    case "max_tokens":
                        mt = TokensOf(reader);
                        break;
                }
                reader.Skip();
                var end = (int)reader.BytesConsumed;
                if (IsDuplicate(name)) throw new BadRequestException($"field '{name}' is given twice");
                _members.Add(new Member(name, start, end, valueStart));
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) throw new BadRequestException("the request body is not one JSON object");
        }
        catch (JsonException)
        {
            throw new BadRequestException("the request body is not valid JSON");
        }

        Model = model is { Length: > 0 } ? model : throw new BadRequestException("'model' is required (a string)");
        Stream = !streamSeen ? false : stream ?? throw new BadRequestException("'stream' must be true or false");
        ClientAskedUsage = askedUsage;
        var max = mct.Seen ? mct : mt;
        if (max.Seen && max.Kind != JsonTokenType.Null)
            MaxTokens = max.Kind == JsonTokenType.Number && max.Int && max.Value >= 0 ? max.Value : throw new BadRequestException("'max_tokens' must be a non-negative integer");
    }

    private static string Name(ref Utf8JsonReader reader)
    {
        // The common names, without allocating; anything else (or escaped) as a new string.
        if (!reader.ValueIsEscaped)
        {
            var raw = reader.ValueSpan;
            if (raw.SequenceEqual("model"u8)) return "model";
            if (raw.SequenceEqual("messages"u8)) return "messages";
            if (raw.SequenceEqual("stream"u8)) return "stream";
            if (raw.SequenceEqual("max_tokens"u8)) return "max_tokens";
            if (raw.SequenceEqual("stream_options"u8)) return "stream_options";
        }
        return reader.GetString()!;
    }

    private bool IsDuplicate(string name)
    {
        foreach (var m in _members)
            if (m.Name == name) return true;
        return false;
    }

    private static (bool, JsonTokenType, long, bool) TokensOf(Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var v) ? (true, reader.TokenType, v, true) : (true, reader.TokenType, 0, false);

    /// <summary>Whether a stream_options object (the reader on its start) sets include_usage to true; the last one given wins.</summary>
    private static bool IncludeUsageOf(Utf8JsonReader reader)
    {
        var result = false;
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1)
        {
            var isIt = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            if (isIt) result = reader.TokenType == JsonTokenType.True;
            reader.Skip();
        }
        return result;
    }

    private static readonly ConcurrentDictionary<string, byte[]> s_encodedNames = new(StringComparer.Ordinal);

    /// <summary>A model name as a JSON string (quotes and escapes included), cached: names come from configuration.</summary>
    private static byte[] Encoded(string s)
    {
        if (s_encodedNames.TryGetValue(s, out var hit)) return hit;
        var encoded = JsonSerializer.SerializeToUtf8Bytes(s);
        if (s_encodedNames.Count > 10_000) s_encodedNames.Clear();
        s_encodedNames[s] = encoded;
        return encoded;
    }

    private static ReadOnlySpan<byte> ModelPrefix => "{\"model\":"u8;
    private static ReadOnlySpan<byte> OptionsPrefix => ",\"stream_options\":{"u8;
    private static ReadOnlySpan<byte> IncludeUsage => "\"include_usage\":true}"u8;

    /// <summary>
    /// The body for the upstream: its own model name first and, for a stream, include_usage switched on
    /// (the client's other stream_options kept); every other member copied as it came.
    /// </summary>
    public byte[] ForUpstream(string upstreamModel, bool askUsage)
    {
        var model = Encoded(upstreamModel);
        var keptOptions = askUsage && _streamOptions >= 0;
        // Sizes first, then one exact array.
        var size = ModelPrefix.Length + model.Length + 1;
        if (askUsage) size += OptionsPrefix.Length + IncludeUsage.Length;
        if (keptOptions)
        {
            var options = new OptionMembers(_json, _members[_streamOptions]);
            while (options.Next(out var s, out var e)) size += e - s + 1;
        }
        foreach (var m in _members)
            if (!Skipped(m, askUsage)) size += 1 + m.End - m.Start;

        var output = new byte[size];
        var w = new SpanWriter(output);
        w.Put(ModelPrefix);
        w.Put(model);
        if (askUsage)
        {
            w.Put(OptionsPrefix);
            if (keptOptions)
            {
                var options = new OptionMembers(_json, _members[_streamOptions]);
                while (options.Next(out var s, out var e))
                {
                    w.Put(_json.AsSpan(s, e - s));
                    w.Put(","u8);
                }
            }
            w.Put(IncludeUsage);
        }
        foreach (var m in _members)
        {
            if (Skipped(m, askUsage)) continue;
            w.Put(","u8);
            w.Put(_json.AsSpan(m.Start, m.End - m.Start));
        }
        w.Put("}"u8);
        return w.At == size ? output : throw new InvalidOperationException("request body size mismatch");
    }

    private static bool Skipped(Member m, bool askUsage) => m.Name == "model" || (askUsage && m.Name == "stream_options");

    private ref struct SpanWriter(Span<byte> output)
    {
        private readonly Span<byte> _output = output;
        public int At;

        public void Put(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_output[At..]);
            At += bytes.Length;
        }
    }

    /// <summary>The [start, end) offsets in the body of every member of a stream_options object but include_usage.</summary>
    private ref struct OptionMembers(byte[] json, Member options)
    {
        private Utf8JsonReader _reader = new(json.AsSpan(options.ValueStart, options.End - options.ValueStart));
        private bool _started;

        public bool Next(out int start, out int end)
        {
            if (!_started)
            {
                _started = true;
                _reader.Read(); // {
            }
            while (_reader.Read() && _reader.TokenType == JsonTokenType.PropertyName)
            {
                var s = (int)_reader.TokenStartIndex;
                var isUsage = _reader.ValueTextEquals("include_usage"u8);
                _reader.Read();
                _reader.Skip();
                if (isUsage) continue;
                (start, end) = (options.ValueStart + s, options.ValueStart + (int)_reader.BytesConsumed);
                return true;
            }
            (start, end) = (0, 0);
            return false;
        }
    }
}
