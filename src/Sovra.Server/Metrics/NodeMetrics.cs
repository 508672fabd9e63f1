using Sovra.Engine.Scheduling;
using Sovra.Server.Models;

namespace Sovra.Server.Metrics;

/// <summary>The node's metrics, served at GET /metrics.</summary>
public sealed class NodeMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128];

    public NodeMetrics(Func<IReadOnlyList<IServedModel>> loaded)
    {
        Registry = new PrometheusRegistry();
        Requests = Registry.Counter("sovra_requests_total", "HTTP API requests by endpoint and status code (499: the client went away).", "endpoint", "status");
        PromptTokens = Registry.Counter("sovra_prompt_tokens_total", "Prompt tokens of finished requests.");
        CachedPromptTokens = Registry.Counter("sovra_prompt_tokens_cached_total", "Prompt tokens whose KV was reused from an earlier sequence.");
        GeneratedTokens = Registry.Counter("sovra_generated_tokens_total", "Tokens generated.");
        Cancelled = Registry.Counter("sovra_requests_cancelled_total", "Requests whose client disconnected before the end; each counted once.");
        Rejected = Registry.Counter("sovra_requests_rejected_total", "Requests turned away because the waiting queue was full (429).");
        Registry.Gauge("sovra_queue_depth", "Sequences waiting to be admitted.", () => loaded().Sum(m => m.Scheduler.Stats.Waiting));
        Registry.Gauge("sovra_active_sequences", "Sequences being processed.", () => loaded().Sum(m => m.Scheduler.Stats.Active));
        Registry.Gauge("sovra_kv_cells_used", "KV cache cells reserved or held by cached prefixes.", () => loaded().Sum(m => m.Scheduler.Stats.KvCellsUsed));
        Registry.Gauge("sovra_kv_cells_capacity", "KV cache cells in the pools of loaded models.", () => loaded().Sum(m => m.Scheduler.Stats.KvCapacity));
        Registry.Gauge("sovra_kv_cache_usage_ratio", "Fraction of the KV pools in use.", () =>
        {
            var models = loaded();
            var cap = models.Sum(m => (double)m.Scheduler.Stats.KvCapacity);
            return cap == 0 ? 0 : models.Sum(m => (double)m.Scheduler.Stats.KvCellsUsed) / cap;
        });
        Registry.Gauge("sovra_kv_cache_bytes", "Bytes of the KV pools of loaded models.", () => loaded().Sum(m => (double)m.Scheduler.Model.KvBytes));
        Registry.Gauge("sovra_models_loaded", "Models loaded.", () => loaded().Count);
        BatchSize = Registry.Histogram("sovra_batch_sequences", "Sequences decoded per forward step.", BatchBuckets);
        BatchTokens = Registry.Histogram("sovra_batch_tokens", "Tokens per forward step (decode tokens and prompt chunks).", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
        TimeToFirstToken = Registry.Histogram("sovra_time_to_first_token_seconds", "From the request's arrival to its first generated token.", LatencyBuckets);
        InterTokenLatency = Registry.Histogram("sovra_inter_token_latency_seconds", "Between consecutive generated tokens of one sequence.", LatencyBuckets);
        RequestDuration = Registry.Histogram("sovra_request_duration_seconds", "From the request's arrival to its last byte.", LatencyBuckets);
    }

    public PrometheusRegistry Registry { get; }
    public Counter Requests { get; }
    public Counter PromptTokens { get; }
    public Counter CachedPromptTokens { get; }
    public Counter GeneratedTokens { get; }
    public Counter Cancelled { get; }
    public Counter Rejected { get; }
    public Histogram BatchSize { get; }
    public Histogram BatchTokens { get; }
    public Histogram TimeToFirstToken { get; }
    public Histogram InterTokenLatency { get; }
    public Histogram RequestDuration { get; }
    public double RequestDurationMean => RequestDuration.Count == 0 ? 0 : RequestDuration.Sum / RequestDuration.Count;

    public void OnStep(StepInfo step)
    {
        if (step.DecodingSequences > 0) BatchSize.Observe(step.DecodingSequences);
        BatchTokens.Observe(step.BatchTokens);
    }
}
