using System.Text.Json;

namespace Sovra.Text.Templates;

/// <summary>
/// One message as the template sees it (a dict with role, content, reasoning_content, tool_calls,
/// tool_call_id, name). Build it from OpenAI request JSON with <see cref="FromJson"/> to pass every
/// field through unchanged, or set the properties; only the properties that are set become keys.
/// </summary>
public sealed class ChatMessage
{
    private JsonElement? _raw;

    public string Role { get; init; } = "user";

    /// <summary>Plain-text content. Ignored when <see cref="ContentJson"/> is set.</summary>
    public string? Content { get; init; }

    /// <summary>Content as JSON: an array of parts, null, or any value the template should see as is.</summary>
    public JsonElement? ContentJson { get; init; }

    public string? ReasoningContent { get; init; }

    /// <summary>OpenAI tool calls (array of {id, type, function:{name, arguments}}); arguments may be an object or a JSON string.</summary>
    public JsonElement? ToolCalls { get; init; }

    public string? ToolCallId { get; init; }
    public string? Name { get; init; }

    /// <summary>Any further keys, e.g. "thinking" for templates that read that name.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>A message exactly as given in JSON (an object); every key reaches the template, in order.</summary>
    public static ChatMessage FromJson(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object) throw new ArgumentException("a chat message must be a JSON object", nameof(message));
        var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
        return new ChatMessage { Role = role, _raw = message.Clone() };
    }

    /// <summary>Every message of a JSON array.</summary>
    public static IReadOnlyList<ChatMessage> ListFromJson(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array) throw new ArgumentException("messages must be a JSON array", nameof(messages));
        return messages.EnumerateArray().Select(FromJson).ToList();
    }

    internal Value ToValue()
    {
        if (_raw is { } raw) return PyJson.FromJson(raw);
        var d = new DictValue();
        d.Set("role", StrValue.Of(Role));
        if (ContentJson is { } cj) d.Set("content", PyJson.FromJson(cj));
        else if (Content != null) d.Set("content", StrValue.Of(Content));
        if (ReasoningContent != null) d.Set("reasoning_content", StrValue.Of(ReasoningContent));
        if (ToolCalls is { } tc) d.Set("tool_calls", PyJson.FromJson(tc));
        if (ToolCallId != null) d.Set("tool_call_id", StrValue.Of(ToolCallId));
        if (Name != null) d.Set("name", StrValue.Of(Name));
        if (Extra != null) foreach (var (k, v) in Extra) d.Set(k, PyJson.FromJson(v));
        return d;
    }
}

/// <summary>What a chat template is rendered with: the variables Hugging Face's apply_chat_template passes.</summary>
public sealed class ChatRenderRequest
{
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>Tool definitions (JSON array, OpenAI shape); null renders as Python None, as HF passes it.</summary>
    public JsonElement? Tools { get; init; }

    public bool AddGenerationPrompt { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }

    /// <summary>Extra template variables (HF's chat_template_kwargs), e.g. enable_thinking, reasoning_effort.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Variables { get; init; }

    /// <summary>The time strftime_now reports; the current local time when null.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>
    /// The request for an OpenAI chat-completions body: its "messages" (every field passed through), "tools",
    /// and "chat_template_kwargs" as <see cref="Variables"/>. Throws ArgumentException naming what is malformed.
    /// </summary>
    public static ChatRenderRequest FromOpenAIRequest(JsonElement body, bool addGenerationPrompt = true, string? bosToken = null, string? eosToken = null)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new ArgumentException("the request body must be a JSON object", nameof(body));
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw new ArgumentException("the request needs a \"messages\" array", nameof(body));
        JsonElement? tools = null;
        if (body.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind != JsonValueKind.Array) throw new ArgumentException("\"tools\" must be an array", nameof(body));
            tools = t.Clone();
        }
        var variables = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (body.TryGetProperty("chat_template_kwargs", out var kw) && kw.ValueKind != JsonValueKind.Null)
        {
            if (kw.ValueKind != JsonValueKind.Object) throw new ArgumentException("\"chat_template_kwargs\" must be an object", nameof(body));
            foreach (var p in kw.EnumerateObject()) variables[p.Name] = p.Value.Clone();
        }
        return new ChatRenderRequest
        {
            Messages = ChatMessage.ListFromJson(messages),
            Tools = tools,
            AddGenerationPrompt = addGenerationPrompt,
            BosToken = bosToken,
            EosToken = eosToken,
            Variables = variables,
        };
    }
}
