using System.Text.Json;
using Sovra.Server.Generation;

namespace Sovra.Server.Api;

/// <summary>The pieces of OpenAI's response shapes that chat and completions share.</summary>
internal static class ResponseJson
{
    public static void Usage(Utf8JsonWriter w, int prompt, int completion, int cached)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", cached);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Chat logprobs: {"content":[{token, logprob, bytes, top_logprobs}], "refusal": null}.</summary>
    public static void ChatLogprobs(Utf8JsonWriter w, IEnumerable<TokenLogprobInfo> tokens)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var t in tokens)
        {
            w.WriteStartObject();
            TokenFields(w, t);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in t.Top)
            {
                w.WriteStartObject();
                TokenFields(w, alt);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    private static void TokenFields(Utf8JsonWriter w, TokenLogprobInfo t)
    {
        w.WriteString("token", t.Token);
        w.WriteNumber("logprob", t.Logprob);
        w.WriteStartArray("bytes");
        foreach (var b in t.Bytes) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    /// <summary>Legacy completions logprobs: {tokens, token_logprobs, top_logprobs, text_offset}.</summary>
    public static void CompletionLogprobs(Utf8JsonWriter w, IReadOnlyList<TokenLogprobInfo> tokens, int textOffset)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var t in tokens) w.WriteStringValue(t.Token);
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var t in tokens) w.WriteNumberValue(t.Logprob);
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var t in tokens)
        {
            w.WriteStartObject();
            foreach (var alt in t.Top.DistinctBy(a => a.Token)) w.WriteNumber(alt.Token, alt.Logprob);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        var offset = textOffset;
        foreach (var t in tokens) { w.WriteNumberValue(offset); offset += t.Token.Length; }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static byte[] Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return buffer.WrittenSpan.ToArray();
    }
}
