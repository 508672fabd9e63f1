using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>
/// Activation buffers of one context, sized once for its largest batch; every block works in views of them.
/// </summary>
public sealed class Workspace
{
    public Workspace(ModelHyperparameters hp, int maxTokens, int kvCells, int threads)
    {
        MaxTokens = maxTokens;
        X = new float[maxTokens * hp.NEmbd];
        H = new float[maxTokens * hp.NEmbd];
        Q = new float[maxTokens * hp.QDim];
        K = new float[maxTokens * hp.KDim];
        V = new float[maxTokens * hp.VDim];
        Attn = new float[maxTokens * hp.OutDim];
        Proj = new float[maxTokens * hp.NEmbd];
        Gate = new float[maxTokens * hp.NFf];
        Up = new float[maxTokens * hp.NFf];
        RopeCos = new float[maxTokens * (hp.Rope.Dimensions / 2)];
        RopeSin = new float[maxTokens * (hp.Rope.Dimensions / 2)];
        Workers = new AttentionScratch[threads];
        for (var w = 0; w < threads; w++) Workers[w] = new AttentionScratch(kvCells, hp.HeadDimK, hp.HeadDimV);
        Bytes = 4L * (X.Length + H.Length + Q.Length + K.Length + V.Length + Attn.Length + Proj.Length + Gate.Length + Up.Length)
            + threads * 4L * kvCells * (hp.HeadDimK + hp.HeadDimV + 1);
    }

    public int MaxTokens { get; }
    public long Bytes { get; }
    public float[] X { get; }      // [n_tokens, n_embd] residual stream
    public float[] H { get; }      // [n_tokens, n_embd] normed input of a block
    public float[] Q { get; }      // [n_tokens, n_head · head_dim_k]
    public float[] K { get; }      // [n_tokens, n_head_kv · head_dim_k]
    public float[] V { get; }      // [n_tokens, n_head_kv · head_dim_v]
    public float[] Attn { get; }   // [n_tokens, n_head · head_dim_v]
    public float[] Proj { get; }   // [n_tokens, n_embd] output of a block before the residual add
    public float[] Gate { get; }   // [n_tokens, n_ff]
    public float[] Up { get; }     // [n_tokens, n_ff]
    public float[] RopeCos { get; }  // [n_tokens, rope_dims / 2] this step's angles, shared by all layers
    public float[] RopeSin { get; }  // [n_tokens, rope_dims / 2]
    public AttentionScratch[] Workers { get; }

    public static long BytesFor(ModelHyperparameters hp, int maxTokens, int kvCells, int threads) =>
        4L * maxTokens * (3L * hp.NEmbd + hp.QDim + hp.KDim + hp.VDim + hp.OutDim + 2L * hp.NFf)
        + threads * 4L * kvCells * (hp.HeadDimK + hp.HeadDimV + 1);
}

/// <summary>One attention worker's buffers: one KV head's keys and values over the visible cells, as floats.</summary>
public sealed class AttentionScratch(int cells, int headDimK, int headDimV)
{
    public static int Padded(int cells) => (cells + AttentionKernels.KeyBlock - 1) / AttentionKernels.KeyBlock * AttentionKernels.KeyBlock;

    public float[] K { get; } = new float[Padded(cells) * headDimK];   // [head_dim_k, n_visible padded to 16] keys transposed
    public float[] V { get; } = new float[cells * headDimV];           // [n_visible, head_dim_v]
    public float[] Scores { get; } = new float[4 * Padded(cells)];     // [4 query rows, n_visible padded]
    public float[] Row { get; } = new float[headDimK];                 // [head_dim_k] one key before transposing
    public float[] QHalf { get; } = new float[4 * headDimK];           // [4 query rows, head_dim_k] F16-rounded queries
    public float[] Acc { get; } = new float[headDimV];                 // [head_dim_v] F16-valued running sum of p · v
    public float[] Tile { get; } = new float[4 * GgmlAttention.KvTile]; // [4 query rows, 64] one KV tile's weights
}
