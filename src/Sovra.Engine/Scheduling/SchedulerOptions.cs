namespace Sovra.Engine.Scheduling;

public sealed record SchedulerOptions
{
    /// <summary>Most tokens in one forward step, decode tokens and prompt chunks together.</summary>
    public int MaxBatchTokens { get; init; } = 512;

    /// <summary>Most prompt tokens one sequence feeds per step, so a long prompt does not stall the others.</summary>
    public int PrefillChunk { get; init; } = 256;

    /// <summary>Keep the KV of finished sequences so later prompts that start with the same tokens reuse it.</summary>
    public bool PrefixCache { get; init; } = true;

    /// <summary>Shortest common prefix worth copying from a running sequence (a cached one is always taken over).</summary>
    public int MinCopiedPrefix { get; init; } = 16;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxBatchTokens < 1) errors.Add($"max batch tokens must be at least 1 (got {MaxBatchTokens})");
        if (PrefillChunk < 1) errors.Add($"prefill chunk must be at least 1 (got {PrefillChunk})");
        if (MinCopiedPrefix < 1) errors.Add($"minimum copied prefix must be at least 1 (got {MinCopiedPrefix})");
        return errors;
    }
}

/// <summary>What one forward step did, for metrics.</summary>
public readonly record struct StepInfo(int BatchTokens, int DecodingSequences, int PrefillTokens, TimeSpan Duration);

/// <summary>A snapshot of the scheduler's state.</summary>
public readonly record struct SchedulerStats(int Active, int Waiting, int CachedSequences, int KvCellsUsed, int KvCapacity, long Steps);

/// <summary>The request can never run on this model (longer than the context, larger than the KV pool).</summary>
public sealed class RequestTooLargeException(string message, int promptTokens, int limit) : Exception(message)
{
    public int PromptTokens { get; } = promptTokens;
    public int Limit { get; } = limit;
}
