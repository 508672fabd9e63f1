using System.Text.Json;
using Sovra.Engine.Sampling;
using Sovra.Server.Models;

namespace Sovra.Server.Api;

/// <summary>What both endpoints share: the model, how to sample, when to stop, how to answer.</summary>
public sealed record GenerationParams(
    string Model,
    int? MaxTokens,
    SamplerSettings Sampling,
    IReadOnlyList<string> Stops,
    int N,
    bool Stream,
    bool IncludeUsage,
    string? User);

public sealed record ChatRequest(GenerationParams Params, IReadOnlyList<ChatMessage> Messages, JsonElement? Tools, bool? EnableThinking, bool? SeparateReasoning);

public sealed record CompletionRequest(GenerationParams Params, IReadOnlyList<CompletionPrompt> Prompts, int Logprobs);

/// <summary>A /v1/completions prompt: text, or token ids as the client sent them.</summary>
public sealed record CompletionPrompt(string? Text, IReadOnlyList<int>? Tokens);

public sealed record RequestLimits(int MaxN, int MaxStops = 16);

public static class RequestParser
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static ChatRequest ParseChat(JsonElement o, RequestLimits limits)
    {
        var p = Common(o, limits, chat: true);
        var array = JsonFields.Array(o, "messages") ?? throw ApiException.BadRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        var messages = new List<ChatMessage>();
        var i = 0;
        foreach (var m in array.EnumerateArray())
        {
            var at = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object) throw JsonFields.WrongType(at, "an object", m);
            var role = JsonFields.String(m, "role") ?? throw ApiException.BadRequest($"Missing required parameter: '{at}.role'.", $"{at}.role", "missing_required_parameter");
            if (!Roles.Contains(role))
                throw ApiException.BadRequest($"Invalid value for '{at}.role': '{role}'; supported roles are system, developer, user, assistant and tool.", $"{at}.role", "invalid_value");
            var content = Content(m, at);
            var toolCalls = JsonFields.Array(m, "tool_calls");
            if (content == null && !(role == "assistant" && toolCalls != null))
                throw ApiException.BadRequest($"Missing required parameter: '{at}.content'.", $"{at}.content", "missing_required_parameter");
            var toolCallId = JsonFields.String(m, "tool_call_id");
            if (role == "tool" && toolCallId == null)
                throw ApiException.BadRequest($"Missing required parameter: '{at}.tool_call_id' (a tool message answers a tool call).", $"{at}.tool_call_id", "missing_required_parameter");
            messages.Add(new ChatMessage(role, content)
            {
                Name = JsonFields.String(m, "name"),
                ToolCallId = toolCallId,
                ToolCalls = toolCalls,
                ReasoningContent = JsonFields.String(m, "reasoning_content"),
            });
            i++;
        }
        if (messages.Count == 0) throw ApiException.BadRequest("Invalid value for 'messages': the array is empty; send at least one message.", "messages", "invalid_value");

        var tools = ToolChoice(o, JsonFields.Array(o, "tools"));
        bool? thinking = null;
        if (JsonFields.Object(o, "chat_template_kwargs") is { } kwargs) thinking = JsonFields.Bool(kwargs, "enable_thinking");
        if (JsonFields.Object(o, "response_format") is { } format && JsonFields.String(format, "type") is { } ft && ft != "text")
            throw ApiException.BadRequest($"Invalid value for 'response_format.type': '{ft}' is not supported by this server; only 'text' is.", "response_format.type", "unsupported_value");
        return new ChatRequest(p, messages, tools, thinking, JsonFields.Bool(o, "separate_reasoning"));
    }

    /// <summary>
    /// The tools the template sees after <c>tool_choice</c>: "none" hides them (and turns call parsing off), a named
    /// function keeps only that one, "auto" and "required" keep all (nothing constrains sampling, so "required"
    /// is a request the prompt makes, not a guarantee).
    /// </summary>
    private static JsonElement? ToolChoice(JsonElement o, JsonElement? tools)
    {
        if (!o.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null) return tools;
        if (choice.ValueKind == JsonValueKind.String)
            return choice.GetString() switch
            {
                "none" => null,
                "auto" or "required" => tools,
                var other => throw ApiException.BadRequest($"Invalid value for 'tool_choice': '{other}'; use 'none', 'auto', 'required' or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.", "tool_choice", "invalid_value"),
            };
        if (choice.ValueKind != JsonValueKind.Object) throw JsonFields.WrongType("tool_choice", "a string or an object", choice);
        var name = JsonFields.Object(choice, "function") is { } f ? JsonFields.String(f, "name") : null;
        if (name == null) throw ApiException.BadRequest("Missing required parameter: 'tool_choice.function.name'.", "tool_choice.function.name", "missing_required_parameter");
        if (tools == null) throw ApiException.BadRequest($"Invalid value for 'tool_choice': it names '{name}' but the request has no 'tools'.", "tool_choice", "invalid_value");
        foreach (var t in tools.Value.EnumerateArray())
            if (t.ValueKind == JsonValueKind.Object && JsonFields.Object(t, "function") is { } fn && JsonFields.String(fn, "name") == name)
                return JsonSerializer.SerializeToElement(new[] { t });
        throw ApiException.BadRequest($"Invalid value for 'tool_choice': no tool in 'tools' is named '{name}'.", "tool_choice.function.name", "invalid_value");
    }

    public static CompletionRequest ParseCompletion(JsonElement o, RequestLimits limits)
    {
        var p = Common(o, limits, chat: false);
        if (!o.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
        var prompts = new List<CompletionPrompt>();
        const string expected = "a string, an array of strings, an array of token ids or an array of arrays of token ids";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                prompts.Add(new CompletionPrompt(prompt.GetString(), null));
                break;
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.Number:
                prompts.Add(new CompletionPrompt(null, TokenIds(prompt, "prompt")));
                break;
            case JsonValueKind.Array:
                var k = 0;
                foreach (var item in prompt.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String) prompts.Add(new CompletionPrompt(item.GetString(), null));
                    else if (item.ValueKind == JsonValueKind.Array) prompts.Add(new CompletionPrompt(null, TokenIds(item, $"prompt[{k}]")));
                    else throw JsonFields.WrongType("prompt", expected, prompt);
                    k++;
                }
                if (prompts.Count == 0) throw ApiException.BadRequest("Invalid value for 'prompt': the array is empty.", "prompt", "invalid_value");
                break;
            default:
                throw JsonFields.WrongType("prompt", expected, prompt);
        }
        if (JsonFields.Bool(o, "echo") == true) throw ApiException.BadRequest("Invalid value for 'echo': echoing the prompt is not supported by this server.", "echo", "unsupported_value");
        if (JsonFields.String(o, "suffix") is { Length: > 0 }) throw ApiException.BadRequest("Invalid value for 'suffix': insertion is not supported by this server.", "suffix", "unsupported_value");
        _ = JsonFields.Integer(o, "best_of", 1, 1); // only best_of 1: each completion is its own sequence
        if (prompts.Count * p.N > limits.MaxN)
            throw ApiException.BadRequest($"Invalid value for 'n': {prompts.Count} prompts × n={p.N} asks for {prompts.Count * p.N} completions; at most {limits.MaxN} are allowed per request.", "n", "invalid_value");
        var logprobs = (int)(JsonFields.Integer(o, "logprobs", 0, 20) ?? 0);
        var withLogprobs = o.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Number;
        var sampling = p.Sampling with { Logprobs = withLogprobs, TopLogprobs = logprobs };
        return new CompletionRequest(p with { Sampling = sampling }, prompts, withLogprobs ? logprobs : -1);
    }

    private static List<int> TokenIds(JsonElement array, string name)
    {
        var ids = new List<int>();
        foreach (var t in array.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var id) || id < 0)
                throw ApiException.BadRequest($"Invalid value for '{name}': token ids must be non-negative integers.", name, "invalid_value");
            ids.Add(id);
        }
        if (ids.Count == 0) throw ApiException.BadRequest($"Invalid value for '{name}': the token array is empty.", name, "invalid_value");
        return ids;
    }

    private static string? Content(JsonElement m, string at)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return null;
        if (c.ValueKind == JsonValueKind.String) return c.GetString();
        if (c.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType($"{at}.content", "a string or an array of content parts", c);
        var text = new System.Text.StringBuilder();
        var k = 0;
        foreach (var part in c.EnumerateArray())
        {
            var pat = $"{at}.content[{k}]";
            if (part.ValueKind != JsonValueKind.Object) throw JsonFields.WrongType(pat, "an object", part);
            var type = JsonFields.String(part, "type", required: true);
            if (type != "text")
                throw ApiException.BadRequest($"Invalid value for '{pat}.type': '{type}' content is not supported by this server; only 'text' is.", $"{pat}.type", "unsupported_value");
            text.Append(JsonFields.String(part, "text", required: true));
            k++;
        }
        return text.ToString();
    }

    private static GenerationParams Common(JsonElement o, RequestLimits limits, bool chat)
    {
        var model = JsonFields.String(o, "model", required: true)!;
        var maxTokens = JsonFields.Integer(o, "max_tokens", 1, int.MaxValue);
        if (chat && JsonFields.Integer(o, "max_completion_tokens", 1, int.MaxValue) is { } mct) maxTokens = mct;
        var temperature = JsonFields.Number(o, "temperature", 0, 2) ?? 1.0;
        var topP = JsonFields.Number(o, "top_p", 0, 1) ?? 1.0;
        if (topP == 0) topP = float.Epsilon; // top_p 0 keeps only the most likely token
        var topK = JsonFields.Integer(o, "top_k", -1, int.MaxValue) ?? 0;
        var minP = JsonFields.Number(o, "min_p", 0, 1) ?? 0;
        var presence = JsonFields.Number(o, "presence_penalty", -2, 2) ?? 0;
        var frequency = JsonFields.Number(o, "frequency_penalty", -2, 2) ?? 0;
        var seed = JsonFields.Integer(o, "seed", long.MinValue, long.MaxValue);
        var n = (int)(JsonFields.Integer(o, "n", 1, limits.MaxN) ?? 1);
        var stream = JsonFields.Bool(o, "stream") ?? false;
        var includeUsage = false;
        if (JsonFields.Object(o, "stream_options") is { } so)
        {
            if (!stream) throw ApiException.BadRequest("Invalid value for 'stream_options': it is only allowed when 'stream' is true.", "stream_options", "invalid_value");
            includeUsage = JsonFields.Bool(so, "include_usage") ?? false;
        }
        var logprobs = false;
        var topLogprobs = 0;
        if (chat)
        {
            logprobs = JsonFields.Bool(o, "logprobs") ?? false;
            topLogprobs = (int)(JsonFields.Integer(o, "top_logprobs", 0, 20) ?? 0);
            if (topLogprobs > 0 && !logprobs)
                throw ApiException.BadRequest("Invalid value for 'top_logprobs': 'logprobs' must be true to use it.", "top_logprobs", "invalid_value");
        }
        var stops = JsonFields.Stops(o, limits.MaxStops);
        var user = JsonFields.String(o, "user");
        // OpenAI's knobs on the engine's sampler: no repeat penalty, presence/frequency over everything generated.
        var sampling = new SamplerSettings
        {
            Temperature = (float)temperature,
            TopP = (float)topP,
            TopK = topK < 0 ? 0 : (int)topK,
            MinP = (float)minP,
            RepeatPenalty = 1,
            RepeatLastN = -1,
            PresencePenalty = (float)presence,
            FrequencyPenalty = (float)frequency,
            Seed = seed is { } sd ? unchecked((ulong)sd) : unchecked((ulong)Random.Shared.NextInt64()),
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
        };
        return new GenerationParams(model, maxTokens is { } mt ? (int)Math.Min(mt, int.MaxValue) : null, sampling, stops, n, stream, includeUsage, user);
    }
}
