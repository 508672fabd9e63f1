using System.Text.Json;
using Sovra.Engine.Scheduling;

namespace Sovra.Server.Models;

/// <summary>One message of a chat, as the template sees it.</summary>
public sealed record ChatMessage(string Role, string? Content)
{
    public string? Name { get; init; }
    public string? ToolCallId { get; init; }
    /// <summary>The assistant's tool calls, as the client sent them (OpenAI shape).</summary>
    public JsonElement? ToolCalls { get; init; }
    public string? ReasoningContent { get; init; }
}

/// <summary>How to render a chat: tool definitions, and whether a reasoning model should think.</summary>
public sealed record ChatPromptOptions(JsonElement? Tools, bool? EnableThinking);

/// <summary>A rendered chat: the text (for the reasoning parser) and its tokens.</summary>
public sealed record ChatPrompt(string Text, IReadOnlyList<int> Tokens);

/// <summary>
/// A loaded model as the server uses it ("the thing that generates"): text in and out, a chat template,
/// and a continuous-batching scheduler over the engine.
/// </summary>
public interface IServedModel : IDisposable
{
    string Id { get; }

    /// <summary>Positions one sequence may hold.</summary>
    int ContextLength { get; }

    /// <summary>Memory the model holds while loaded: weights resident plus the KV pool.</summary>
    long ResidentBytes { get; }

    BatchScheduler Scheduler { get; }

    /// <summary>End-of-turn and end-of-text tokens.</summary>
    IReadOnlySet<int> StopTokens { get; }

    /// <summary>Encodes plain text; special-token text in it stays text (untrusted input cannot inject control tokens).</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>Renders the chat with the model's template and the generation prompt, and encodes it.</summary>
    ChatPrompt RenderChat(IReadOnlyList<ChatMessage> messages, ChatPromptOptions options);

    /// <summary>The raw bytes a token stands for (a piece of UTF-8, possibly an incomplete character).</summary>
    ReadOnlySpan<byte> TokenBytes(int token);

    /// <summary>Whether the template marks thinking with &lt;think&gt; … &lt;/think&gt; (Qwen3, DeepSeek-R1).</summary>
    bool ThinksInTags { get; }
}

/// <summary>Turns a model file into a served model. The engine's loader is the real one.</summary>
public interface IModelLoader
{
    IServedModel Load(ModelEntry entry, ModelLoadSettings settings);

    /// <summary>Memory the model will hold once loaded (weights + KV), to decide what to unload first.</summary>
    long EstimateBytes(ModelEntry entry, ModelLoadSettings settings);
}

/// <summary>What the node asks of every model it loads.</summary>
public sealed record ModelLoadSettings(int ContextLength, int Parallel, SchedulerOptions Scheduler, int Threads);

/// <summary>A model file the node can serve: its id (the name clients send) and where it is.</summary>
public sealed record ModelEntry(string Id, string Path, long SizeBytes, DateTimeOffset Modified);
