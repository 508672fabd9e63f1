namespace Sovra.Engine.Model;

/// <summary>Which pairs of a head's dimensions RoPE rotates (llama.cpp's rope types).</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (2i, 2i+1): llama.cpp LLAMA_ROPE_TYPE_NORM, used by <c>llama</c>.</summary>
    Interleaved,
    /// <summary>Halves (i, i + d/2): LLAMA_ROPE_TYPE_NEOX, used by <c>qwen2</c>, <c>qwen3</c>.</summary>
    NeoX,
}

public enum RopeScaling { None, Linear, Yarn }

/// <summary>Rotary embedding parameters as the file gives them (<c>{arch}.rope.*</c>).</summary>
public sealed record RopeSettings
{
    public RopeStyle Style { get; init; }
    /// <summary>Dimensions rotated per head (rope.dimension_count; the head size when absent).</summary>
    public int Dimensions { get; init; }
    public float FreqBase { get; init; } = 10000f;
    public RopeScaling Scaling { get; init; }
    /// <summary>rope.scaling.factor: positions are divided by it (linear) or frequencies interpolated (YaRN).</summary>
    public float ScalingFactor { get; init; } = 1f;
    /// <summary>rope.scaling.original_context_length (YaRN).</summary>
    public int OriginalContext { get; init; }
    public float YarnBetaFast { get; init; } = 32f;
    public float YarnBetaSlow { get; init; } = 1f;
    public float YarnAttnFactor { get; init; } = 1f;
}
