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
            var response = new GenerationResponse(context, node, runs, entry.Id, prompts.Sum(t => t.Count), "cmpl-", "text_completion", "text_completion");
            var logprobs = request.Logprobs >= 0;
            if (p.Stream) await StreamAsync(response, p.IncludeUsage, logprobs).ConfigureAwait(false);
            else await AnswerAsync(response, logprobs).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in runs) r.Handle.Cancel();
            model.Scheduler.Poke();
        }
        return 200;
    }

    private static async Task AnswerAsync(GenerationResponse response, bool logprobs)
    {
        var choices = await response.CollectAsync().ConfigureAwait(false);
        await response.AnswerAsync(choices, (w, c) =>
        {
            w.WriteString("text", c.Content);
            if (logprobs) ResponseJson.CompletionLogprobs(w, c.Logprobs, 0); else w.WriteNull("logprobs");
            w.WriteString("finish_reason", c.Run.FinishReason);
        }).ConfigureAwait(false);
    }

    private static Task StreamAsync(GenerationResponse response, bool includeUsage, bool logprobs) =>
        response.StreamAsync(includeUsage, async (r, sse, aborted) =>
        {
            var offset = 0;
            await foreach (var d in r.RunAsync(aborted).ConfigureAwait(false))
            {
                await sse.WriteAsync(Chunk(response, r.Index, d.Content, logprobs ? d.Logprobs : null, offset, null, includeUsage), aborted).ConfigureAwait(false);
                offset += d.Content.Length;
            }
            await sse.WriteAsync(Chunk(response, r.Index, "", null, offset, r.FinishReason, includeUsage), aborted).ConfigureAwait(false);
        });

    private static byte[] Chunk(GenerationResponse response, int index, string text, IReadOnlyList<TokenLogprobInfo>? logprobs, int offset, string? finish, bool usageNull) =>
        response.Chunk(index, usageNull, w =>
        {
            w.WriteString("text", text);
            if (logprobs != null) ResponseJson.CompletionLogprobs(w, logprobs, offset); else w.WriteNull("logprobs");
            if (finish != null) w.WriteString("finish_reason", finish); else w.WriteNull("finish_reason");
        });
}
