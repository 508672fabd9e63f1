namespace Sovra.Engine.Scheduling;

/// <summary>How one sequence picks its next token. Temperature 0 is greedy.</summary>
public sealed record SamplingSettings
{
    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 1.0f;
    public int TopK { get; init; }
    public float MinP { get; init; }
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }

    /// <summary>Same seed and settings give the same tokens. Null: a fresh random seed.</summary>
    public long? Seed { get; init; }

    /// <summary>How many alternatives (with their log-probabilities) to report per token; 0: none.</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Whether to compute the chosen token's log-probability at all.</summary>
    public bool Logprobs { get; init; }

    public static SamplingSettings Greedy { get; } = new() { Temperature = 0 };
}
