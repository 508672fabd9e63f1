using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Sovra.Engine.Scheduling;
using Sovra.Server.Generation;
using Sovra.Server.Hosting;
using Sovra.Server.Metrics;
using Sovra.Server.Models;

namespace Sovra.Server.Api;

/// <summary>What every API handler needs: the options, the models, the metrics, and whether the node is stopping.</summary>
public sealed class Node(ServerOptions options, ModelRegistry registry, NodeMetrics metrics)
{
    private const int MaxBodyBytes = 32 << 20;

    public ServerOptions Options { get; } = options;
    public ModelRegistry Registry { get; } = registry;
    public NodeMetrics Metrics { get; } = metrics;
    public RequestLimits Limits { get; } = new(options.MaxN);
    public volatile bool Stopping;

    /// <summary>Why the node is not ready, or null when it is.</summary>
    public string? NotReadyReason()
    {
        if (Stopping) return "the node is shutting down";
        var loaded = Registry.LoadedModels;
        if (loaded.Count == 0)
            return Registry.Entries.Count == 0
                ? $"no model: put a .gguf file in {Options.ModelsDir} (e.g. `sovra pull qwen3:0.6b`) or start with --model FILE.gguf"
                : "no model is loaded yet";
        return loaded.Any(m => m.Scheduler.IsRunning) ? null : "no model's engine loop is running";
    }

    public static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
            throw new ApiException(413, $"The request body has {context.Request.ContentLength} bytes; at most {MaxBodyBytes} are accepted.");
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > MaxBodyBytes) throw new ApiException(413, $"The request body is larger than {MaxBodyBytes} bytes.");
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    public ModelEntry FindModel(string id)
    {
        if (Stopping) throw new ApiException(503, "The node is shutting down; send the request to another node.", code: "shutting_down", type: "server_error") { RetryAfterSeconds = 5 };
        return Registry.Find(id) ?? throw new ApiException(404,
            $"The model '{id}' does not exist on this node. Models served here: {(Registry.Entries.Count == 0 ? "none" : string.Join(", ", Registry.Entries.Select(e => e.Id)))}.",
            "model", "model_not_found");
    }

    /// <summary>The max tokens to generate, after checking that prompt and completion fit the context.</summary>
    public static int CheckContext(IServedModel model, int promptTokens, int? maxTokens, string param)
    {
        var ctx = model.ContextLength;
        if (promptTokens >= ctx)
            throw new ApiException(400,
                $"This model's maximum context length is {ctx} tokens, but the {param} have {promptTokens} tokens, which leaves none to generate. Please shorten the {param}.",
                param, "context_length_exceeded");
        if (maxTokens is { } max && (long)promptTokens + max > ctx)
            throw new ApiException(400,
                $"This model's maximum context length is {ctx} tokens. However, you requested {(long)promptTokens + max} tokens ({promptTokens} in the {param}, {max} in the completion). Please reduce the length of the {param} or the completion.",
                param, "context_length_exceeded");
        return maxTokens ?? ctx - promptTokens;
    }

    /// <summary>Turns the request away with 429 when it would have to wait and the waiting queue is full.</summary>
    public void CheckQueue(IServedModel model, int sequences)
    {
        var stats = model.Scheduler.Stats;
        var free = Math.Max(0, Options.Parallel - stats.Active - stats.Waiting);
        var mustWait = Math.Max(0, sequences - free);
        if (mustWait == 0 || stats.Waiting + mustWait <= Options.MaxQueue) return;
        Metrics.Rejected.Inc();
        var mean = Metrics.RequestDuration.Count > 0 ? Metrics.RequestDurationMean : 1.0;
        var retry = (int)Math.Clamp(Math.Ceiling(mean * (1 + stats.Waiting / (double)Options.Parallel)), 1, 60);
        throw new ApiException(429,
            $"The node is busy: {stats.Active} sequences running and {stats.Waiting} waiting (the queue holds {Options.MaxQueue}). Retry in {retry} s.",
            code: "rate_limit_exceeded", type: "rate_limit_error") { RetryAfterSeconds = retry };
    }

    /// <summary>Submits one sequence per choice; seeds differ per choice so n choices are not copies.</summary>
    public List<ChoiceRun> Submit(IServedModel model, IReadOnlyList<int> prompt, GenerationParams p, int maxTokens, int firstIndex,
        Func<ReasoningSplitter?> splitter, bool logprobs, long started, CancellationToken cancellation, bool toolCalls = false)
    {
        var runs = new List<ChoiceRun>(p.N);
        try
        {
            for (var i = 0; i < p.N; i++)
            {
                var sampling = p.Sampling with { Seed = p.Sampling.Seed + (ulong)i };   // an unseeded request got a random seed
                var handle = model.Scheduler.Submit(new GenerationRequest(prompt, sampling, maxTokens) { StopTokens = model.StopTokens }, cancellation);
                runs.Add(new ChoiceRun(firstIndex + i, model, handle, p.Stops, splitter(), logprobs, started, OnToken, toolCalls ? new ToolCallStream() : null));
            }
        }
        catch (RequestTooLargeException e)
        {
            foreach (var r in runs) r.Handle.Cancel();
            throw new ApiException(400, e.Message, "messages", "context_length_exceeded");
        }
        return runs;
    }

    private void OnToken(bool first, double seconds)
    {
        Metrics.GeneratedTokens.Inc();
        (first ? Metrics.TimeToFirstToken : Metrics.InterTokenLatency).Observe(seconds);
    }

    /// <summary>Runs a handler with the error format, the status metrics and the cancellation accounting every endpoint shares.</summary>
    public async Task HandleAsync(HttpContext context, string endpoint, Func<HttpContext, Task<int>> handler)
    {
        var started = Stopwatch.GetTimestamp();
        var status = 500;
        try
        {
            status = await handler(context).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            status = e.Status;
            await ApiErrorWriter.WriteAsync(context, e).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499; // the client went away; counted here, once
            Metrics.Cancelled.Inc();
        }
        catch (Exception e)
        {
            status = 500;
            await ApiErrorWriter.WriteAsync(context, new ApiException(500, "The server failed: " + e.Message, code: "internal_error", type: "server_error")).ConfigureAwait(false);
        }
        finally
        {
            Metrics.Requests.Inc(1, endpoint, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Metrics.RequestDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
