using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sovra.Server.Generation;

namespace Sovra.Server.Api;

/// <summary>POST /v1/completions: raw text in, text out (no chat template, thinking left inline).</summary>
internal static class CompletionsEndpoint
{
    public static async Task<int> HandleAsync(HttpContext context, Node node)
    {
        var started = Stopwatch.GetTimestamp();
        var aborted = context.RequestAborted;
        var request = RequestParser.ParseCompletion(JsonFields.ParseBody(await Node.ReadBodyAsync(context).ConfigureAwait(false)), node.Limits);
        var p = request.Params;
        var entry = node.FindModel(p.Model);
        using var lease = await node.Registry.AcquireAsync(entry, aborted).ConfigureAwait(false);
        var model = lease.Model;
        var vocab = model.Scheduler.Model.VocabSize;
        var prompts = request.Prompts.Select((pr, i) =>
        {
            var ids = pr.Tokens ?? model.Encode(pr.Text!);
            if (pr.Tokens?.FirstOrDefault(t => t >= vocab) is { } bad && bad >= vocab)
                throw new ApiException(400, $"Invalid value for 'prompt': token id {bad} is outside this model's vocabulary (0..{vocab - 1}).", "prompt", "invalid_value");
            if (ids.Count == 0) throw new ApiException(400, $"Invalid value for 'prompt': prompt {i} is empty.", "prompt", "invalid_value");
            return ids;
        }).ToList();
        var maxTokens = prompts.Select(t => Node.CheckContext(model, t.Count, p.MaxTokens ?? 16, "prompt")).ToList();
        node.CheckQueue(model, prompts.Count * p.N);

        var runs = new List<ChoiceRun>();
        try
        {
            for (var i = 0; i < prompts.Count; i++)
                runs.AddRange(node.Submit(model, prompts[i], p, maxTokens[i], i * p.N, () => null, request.Logprobs >= 0, started, aborted));
            var id = "cmpl-" + Guid.NewGuid().ToString("N")[..24];
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var promptTokens = prompts.Sum(t => t.Count);
            if (p.Stream) await StreamAsync(context, node, runs, id, created, entry.Id, promptTokens, p.IncludeUsage, request.Logprobs >= 0).ConfigureAwait(false);
            else await AnswerAsync(context, node, runs, id, created, entry.Id, promptTokens, request.Logprobs >= 0).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in runs) r.Handle.Cancel();
            model.Scheduler.Poke();
        }
        return 200;
    }

    private static async Task AnswerAsync(HttpContext context, Node node, List<ChoiceRun> runs, string id, long created, string modelId, int promptTokens, bool logprobs)
    {
        var aborted = context.RequestAborted;
        var results = await Task.WhenAll(runs.Select(async r =>
        {
            var text = new StringBuilder();
            var lps = new List<TokenLogprobInfo>();
            await foreach (var d in r.RunAsync(aborted).ConfigureAwait(false))
            {
                text.Append(d.Content);
                lps.AddRange(d.Logprobs);
            }
            return (Run: r, Text: text.ToString(), Logprobs: lps);
        })).ConfigureAwait(false);
        ChatEndpoint.Account(node, runs, promptTokens);
        var body = ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            Head(w, id, created, modelId);
            w.WriteStartArray("choices");
            foreach (var c in results)
            {
                w.WriteStartObject();
                w.WriteNumber("index", c.Run.Index);
                w.WriteString("text", c.Text);
                if (logprobs) ResponseJson.CompletionLogprobs(w, c.Logprobs, 0); else w.WriteNull("logprobs");
                w.WriteString("finish_reason", c.Run.FinishReason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            ResponseJson.Usage(w, promptTokens, runs.Sum(r => r.CompletionTokens), runs.Max(r => r.Result?.CachedPromptTokens ?? 0));
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, aborted).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext context, Node node, List<ChoiceRun> runs, string id, long created, string modelId, int promptTokens, bool includeUsage, bool logprobs)
    {
        var aborted = context.RequestAborted;
        var sse = new Sse(context.Response);
        await sse.StartAsync(aborted).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(runs.Select(async r =>
            {
                var offset = 0;
                await foreach (var d in r.RunAsync(aborted).ConfigureAwait(false))
                {
                    var at = offset;
                    await sse.WriteAsync(Chunk(id, created, modelId, r.Index, d.Content, logprobs ? d.Logprobs : null, at, null, includeUsage), aborted).ConfigureAwait(false);
                    offset += d.Content.Length;
                }
                await sse.WriteAsync(Chunk(id, created, modelId, r.Index, "", null, offset, r.FinishReason, includeUsage), aborted).ConfigureAwait(false);
            })).ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (!aborted.IsCancellationRequested)
        {
            await sse.WriteAsync(ApiErrorWriter.Body(e.Message, "server_error", null, "internal_error"), aborted).ConfigureAwait(false);
            await sse.DoneAsync(aborted).ConfigureAwait(false);
            return;
        }
        ChatEndpoint.Account(node, runs, promptTokens);
        if (includeUsage)
            await sse.WriteAsync(ResponseJson.Build(w =>
            {
                w.WriteStartObject();
                Head(w, id, created, modelId);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                ResponseJson.Usage(w, promptTokens, runs.Sum(r => r.CompletionTokens), runs.Max(r => r.Result?.CachedPromptTokens ?? 0));
                w.WriteEndObject();
            }), aborted).ConfigureAwait(false);
        await sse.DoneAsync(aborted).ConfigureAwait(false);
    }

    private static void Head(Utf8JsonWriter w, string id, long created, string modelId)
    {
        w.WriteString("id", id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", modelId);
        w.WriteString("system_fingerprint", NodeInfo.Fingerprint);
    }

    private static byte[] Chunk(string id, long created, string modelId, int index, string text, IReadOnlyList<TokenLogprobInfo>? logprobs, int offset, string? finish, bool usageNull) =>
        ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            Head(w, id, created, modelId);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", index);
            w.WriteString("text", text);
            if (logprobs != null) ResponseJson.CompletionLogprobs(w, logprobs, offset); else w.WriteNull("logprobs");
            if (finish != null) w.WriteString("finish_reason", finish); else w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
            if (usageNull) w.WriteNull("usage");
            w.WriteEndObject();
        });
}
