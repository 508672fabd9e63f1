namespace Sovra.Engine.Model;

/// <summary>The numbers the forward pass needs, read and checked from <c>{arch}.*</c> metadata.</summary>
public sealed record ModelHyperparameters
{
    public required string Architecture { get; init; }
    public required int NVocab { get; init; }
    public required int NCtxTrain { get; init; }
    public required int NEmbd { get; init; }
    public required int NLayer { get; init; }
    public required int NHead { get; init; }
    public required int NHeadKv { get; init; }
    /// <summary>Size of one key head (attention.key_length, else n_embd / n_head).</summary>
    public required int HeadDimK { get; init; }
    /// <summary>Size of one value head (attention.value_length, else n_embd / n_head).</summary>
    public required int HeadDimV { get; init; }
    public required int NFf { get; init; }
    public required float RmsEps { get; init; }
    public required RopeSettings Rope { get; init; }
    /// <summary>Experts per layer (0 for a dense model) and experts used per token; for the MoE FFN block.</summary>
    public int NExpert { get; init; }
    public int NExpertUsed { get; init; }

    public int QDim => NHead * HeadDimK;       // width of Q
    public int KDim => NHeadKv * HeadDimK;     // width of K (one KV-cache row of a layer)
    public int VDim => NHeadKv * HeadDimV;     // width of V
    public int OutDim => NHead * HeadDimV;     // width of the attention output before attn_output
}
