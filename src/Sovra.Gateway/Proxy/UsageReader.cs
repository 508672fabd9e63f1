using System.Text.Json;

namespace Sovra.Gateway.Proxy;

/// <summary>Token counts an upstream reported, read from a response or from one stream chunk.</summary>
public readonly record struct Usage(long PromptTokens, long CompletionTokens);

public static class UsageReader
{
    /// <summary>
    /// Reads the top-level <c>usage</c> object of one JSON document, and whether its <c>choices</c> array
    /// is empty (the shape of the extra usage chunk that include_usage adds to a stream).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out Usage usage, out bool choicesEmpty)
    {
        usage = default;
        choicesEmpty = false;
        var found = false;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        long p = 0, c = 0;
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var isPrompt = reader.ValueTextEquals("prompt_tokens"u8);
                            var isCompletion = reader.ValueTextEquals("completion_tokens"u8);
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.Number && (isPrompt || isCompletion) && reader.TryGetInt64(out var v) && v >= 0)
                            {
                                if (isPrompt) p = v; else c = v;
                            }
                            else reader.Skip();
                        }
                        usage = new Usage(p, c);
                        found = true;
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        reader.Read();
                        choicesEmpty = reader.TokenType == JsonTokenType.EndArray;
                        if (!choicesEmpty) { while (reader.CurrentDepth > 1) reader.Read(); }
                    }
                    else reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        return found;
    }
}
