namespace Sovra.Engine.Sampling;

/// <summary>
/// How the next token is chosen. Defaults are llama.cpp's (<c>--temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05</c>,
/// penalties off). Applied in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, then a draw.
/// </summary>
public sealed record SamplerSettings
{
    /// <summary>0 or less: greedy (argmax after penalties).</summary>
    public float Temperature { get; init; } = 0.8f;
    /// <summary>0 or less: no limit.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>1: off.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>0: off. Drops tokens whose probability is below MinP × the top probability.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>1: off. Divides positive logits (multiplies negative ones) of tokens seen in the last RepeatLastN.</summary>
    public float RepeatPenalty { get; init; } = 1f;
    /// <summary>Subtracted once from the logit of every token seen in the last RepeatLastN.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Subtracted per occurrence in the last RepeatLastN.</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>How many of the latest history tokens the penalties look at; -1: all of them (llama.cpp's -1 is the context).</summary>
    public int RepeatLastN { get; init; } = 64;
    public ulong Seed { get; init; } = 0x5EED;
    /// <summary><see cref="Sampler.Next"/> reports the chosen token's log-probability.</summary>
    public bool Logprobs { get; init; }
    /// <summary><see cref="Sampler.Next"/> reports this many most likely alternatives with their log-probabilities.</summary>
    public int TopLogprobs { get; init; }

    public static SamplerSettings Greedy { get; } = new() { Temperature = 0, TopK = 0, TopP = 1, MinP = 0 };

    public void Validate()
    {
        if (!float.IsFinite(Temperature)) throw new ArgumentException("temperature must be a finite number");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (!(MinP >= 0 && MinP <= 1)) throw new ArgumentException($"min-p must be in [0, 1], got {MinP}");
        if (!(RepeatPenalty > 0) || !float.IsFinite(RepeatPenalty)) throw new ArgumentException($"repeat penalty must be positive, got {RepeatPenalty}");
        if (!float.IsFinite(PresencePenalty) || !float.IsFinite(FrequencyPenalty)) throw new ArgumentException("penalties must be finite numbers");
        if (RepeatLastN < -1) throw new ArgumentException($"repeat-last-n must be -1 (all) or >= 0, got {RepeatLastN}");
        if (TopLogprobs < 0) throw new ArgumentException($"top-logprobs must be >= 0, got {TopLogprobs}");
    }
}

/// <summary>One token and its log-probability (see <see cref="Sampler.Next"/> and <see cref="Sampler.TopLogprobs"/> for which distribution).</summary>
public readonly record struct TokenLogprob(int Token, float Logprob);

/// <summary>A token chosen by <see cref="Sampler.Next"/>: its log-probability when asked for, and the top alternatives (empty unless asked for).</summary>
public readonly record struct SampledToken(int Token, float? Logprob, TokenLogprob[] TopLogprobs);
