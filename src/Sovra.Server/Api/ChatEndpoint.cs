using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sovra.Server.Generation;
using Sovra.Server.Models;

namespace Sovra.Server.Api;

/// <summary>POST /v1/chat/completions, streamed as server-sent events or answered whole.</summary>
internal static class ChatEndpoint
{
    public static async Task<int> HandleAsync(HttpContext context, Node node)
    {
        var started = Stopwatch.GetTimestamp();
        var aborted = context.RequestAborted;
        var request = RequestParser.ParseChat(JsonFields.ParseBody(await Node.ReadBodyAsync(context).ConfigureAwait(false)), node.Limits);
        var p = request.Params;
        var entry = node.FindModel(p.Model);
        using var lease = await node.Registry.AcquireAsync(entry, aborted).ConfigureAwait(false);
        var model = lease.Model;
        ChatPrompt prompt;
        try { prompt = model.RenderChat(request.Messages, new ChatPromptOptions(request.Tools, request.EnableThinking)); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ApiException(400, "The chat template could not render these messages: " + e.Message, "messages", "template_error");
        }
        var maxTokens = Node.CheckContext(model, prompt.Tokens.Count, p.MaxTokens, "messages");
        node.CheckQueue(model, p.N);

        var separate = model.ThinksInTags && (request.SeparateReasoning ?? node.Options.SeparateReasoning);
        var startsInside = prompt.Text.TrimEnd().EndsWith("<think>", StringComparison.Ordinal);
        var runs = node.Submit(model, prompt.Tokens, p, maxTokens, 0, () => separate ? new ReasoningSplitter(startsInside) : null,
            p.Sampling.Logprobs, started, aborted, toolCalls: request.Tools != null);
        var response = new GenerationResponse(context, node, runs, entry.Id, prompt.Tokens.Count, "chatcmpl-", "chat.completion", "chat.completion.chunk");
        try
        {
            if (p.Stream) await StreamAsync(response, p.IncludeUsage, p.Sampling.Logprobs).ConfigureAwait(false);
            else await AnswerAsync(response, p.Sampling.Logprobs).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in runs) r.Handle.Cancel(); // no-op for finished ones; frees any still running
            model.Scheduler.Poke();
        }
        return 200;
    }

    private static async Task AnswerAsync(GenerationResponse response, bool logprobs)
    {
        var choices = await response.CollectAsync().ConfigureAwait(false);
        await response.AnswerAsync(choices, (w, c) =>
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            // OpenAI sends null content beside tool calls when the model wrote nothing else.
            if (c.Calls.Count > 0 && string.IsNullOrWhiteSpace(c.Content)) w.WriteNull("content");
            else w.WriteString("content", c.Content);
            if (c.Reasoning.Length > 0) w.WriteString("reasoning_content", c.Reasoning);
            w.WriteNull("refusal");
            if (c.Calls.Count > 0) WriteToolCalls(w, c.Calls, streamed: false);
            w.WriteEndObject();
            if (logprobs) ResponseJson.ChatLogprobs(w, c.Logprobs); else w.WriteNull("logprobs");
            w.WriteString("finish_reason", c.Run.FinishReason);
        }).ConfigureAwait(false);
    }

    private static Task StreamAsync(GenerationResponse response, bool includeUsage, bool logprobs) =>
        response.StreamAsync(includeUsage, async (r, sse, aborted) =>
        {
            await sse.WriteAsync(Chunk(response, r.Index, includeUsage, w =>
            {
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
            }, null, null), aborted).ConfigureAwait(false);
            await foreach (var d in r.RunAsync(aborted).ConfigureAwait(false))
                await sse.WriteAsync(Chunk(response, r.Index, includeUsage, w =>
                {
                    if (d.Reasoning.Length > 0) w.WriteString("reasoning_content", d.Reasoning);
                    if (d.Content.Length > 0 || (d.Reasoning.Length == 0 && d.ToolCalls.Count == 0)) w.WriteString("content", d.Content);
                    if (d.ToolCalls.Count > 0) WriteToolCalls(w, d.ToolCalls, streamed: true);
                }, logprobs ? d.Logprobs : null, null), aborted).ConfigureAwait(false);
            await sse.WriteAsync(Chunk(response, r.Index, includeUsage, _ => { }, null, r.FinishReason), aborted).ConfigureAwait(false);
        });

    /// <summary>tool_calls as OpenAI writes them; a stream sends each call whole in one delta, with its index.</summary>
    private static void WriteToolCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls, bool streamed)
    {
        w.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            w.WriteStartObject();
            if (streamed) w.WriteNumber("index", call.Index);
            w.WriteString("id", call.Id);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", call.Name);
            w.WriteString("arguments", call.Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static byte[] Chunk(GenerationResponse response, int index, bool usageNull, Action<Utf8JsonWriter> delta,
        IReadOnlyList<TokenLogprobInfo>? logprobs, string? finish) => response.Chunk(index, usageNull, w =>
    {
        w.WriteStartObject("delta");
        delta(w);
        w.WriteEndObject();
        if (logprobs != null) ResponseJson.ChatLogprobs(w, logprobs); else w.WriteNull("logprobs");
        if (finish != null) w.WriteString("finish_reason", finish); else w.WriteNull("finish_reason");
    });
}

internal static class NodeInfo
{
    public const string Fingerprint = "sovra-0.1";
}
