using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sovra.Server.Generation;

namespace Sovra.Server.Api;

/// <summary>One choice read to its end: what a non-streamed answer reports for it.</summary>
internal sealed record ChoiceOutput(ChoiceRun Run, string Reasoning, string Content, IReadOnlyList<TokenLogprobInfo> Logprobs, IReadOnlyList<ToolCall> Calls);

/// <summary>
/// What chat completions and completions share once their choices are submitted: the response head (id, object,
/// created, model, fingerprint), usage, accounting, reading every choice to its end for a whole answer, and the
/// frame of a streamed one (SSE start, each choice streamed concurrently, a failure after the headers sent as an
/// error event, the usage chunk, [DONE]). The endpoints keep only what differs: their choice and delta shapes.
/// </summary>
internal sealed class GenerationResponse(HttpContext context, Node node, List<ChoiceRun> runs, string modelId, int promptTokens, string idPrefix,
    string objectName, string chunkObjectName)
{
    public string Id { get; } = idPrefix + Guid.NewGuid().ToString("N")[..24];
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public IReadOnlyList<ChoiceRun> Runs => runs;

    /// <summary>id, object, created, model, system_fingerprint; <paramref name="chunk"/> for a streamed chunk's object name.</summary>
    public void Head(Utf8JsonWriter w, bool chunk)
    {
        w.WriteString("id", Id);
        w.WriteString("object", chunk ? chunkObjectName : objectName);
        w.WriteNumber("created", Created);
        w.WriteString("model", modelId);
        w.WriteString("system_fingerprint", NodeInfo.Fingerprint);
    }

    /// <summary>usage over every choice (cached prompt tokens: the most any choice reused).</summary>
    public void Usage(Utf8JsonWriter w) =>
        ResponseJson.Usage(w, promptTokens, runs.Sum(r => r.CompletionTokens), runs.Max(r => r.Result?.CachedPromptTokens ?? 0));

    /// <summary>
    /// A streamed chunk: head, one choice with its index and what <paramref name="body"/> writes, "usage": null when
    /// the request asked for a usage chunk at the end (OpenAI's shape).
    /// </summary>
    public byte[] Chunk(int index, bool usageNull, Action<Utf8JsonWriter> body) => ResponseJson.Build(w =>
    {
        w.WriteStartObject();
        Head(w, chunk: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        body(w);
        w.WriteEndObject();
        w.WriteEndArray();
        if (usageNull) w.WriteNull("usage");
        w.WriteEndObject();
    });

    /// <summary>Reads every choice to its end, concurrently, then accounts for the request.</summary>
    public async Task<ChoiceOutput[]> CollectAsync()
    {
        var aborted = context.RequestAborted;
        var results = await Task.WhenAll(runs.Select(async r =>
        {
            var reasoning = new StringBuilder();
            var content = new StringBuilder();
            var lps = new List<TokenLogprobInfo>();
            var calls = new List<ToolCall>();
            await foreach (var d in r.RunAsync(aborted).ConfigureAwait(false))
            {
                reasoning.Append(d.Reasoning);
                content.Append(d.Content);
                lps.AddRange(d.Logprobs);
                calls.AddRange(d.ToolCalls);
            }
            return new ChoiceOutput(r, reasoning.ToString().Trim(), content.ToString(), lps, calls);
        })).ConfigureAwait(false);
        Account();
        return results;
    }

    /// <summary>The whole answer: head, the choices <paramref name="choice"/> writes, usage.</summary>
    public async Task AnswerAsync(IReadOnlyList<ChoiceOutput> choices, Action<Utf8JsonWriter, ChoiceOutput> choice)
    {
        var body = ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            Head(w, chunk: false);
            w.WriteStartArray("choices");
            foreach (var c in choices)
            {
                w.WriteStartObject();
                w.WriteNumber("index", c.Run.Index);
                choice(w, c);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Usage(w);
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams every choice concurrently through <paramref name="streamOne"/> (which writes its chunks to the SSE
    /// stream it is given), then the usage chunk if asked, then [DONE].
    /// </summary>
    public async Task StreamAsync(bool includeUsage, Func<ChoiceRun, Sse, CancellationToken, Task> streamOne)
    {
        var aborted = context.RequestAborted;
        var sse = new Sse(context.Response);
        await sse.StartAsync(aborted).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(runs.Select(r => streamOne(r, sse, aborted))).ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (!aborted.IsCancellationRequested)
        {
            // Headers are gone: the error travels as an event, as OpenAI's streams do.
            await sse.WriteAsync(ApiErrorWriter.Body(e.Message, "server_error", null, "internal_error"), aborted).ConfigureAwait(false);
            await sse.DoneAsync(aborted).ConfigureAwait(false);
            return;
        }
        Account();
        if (includeUsage)
            await sse.WriteAsync(ResponseJson.Build(w =>
            {
                w.WriteStartObject();
                Head(w, chunk: true);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                Usage(w);
                w.WriteEndObject();
            }), aborted).ConfigureAwait(false);
        await sse.DoneAsync(aborted).ConfigureAwait(false);
    }

    private void Account()
    {
        node.Metrics.PromptTokens.Inc(promptTokens);
        node.Metrics.CachedPromptTokens.Inc(runs.Sum(r => r.Result?.CachedPromptTokens ?? 0));
    }
}
