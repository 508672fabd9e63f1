using Sovra.Engine.Blocks;
using Sovra.Engine.Cache;

namespace Sovra.Engine.Model;

/// <summary>Token embedding → layers → output norm → head (tied to the embedding when the file has no output.weight).</summary>
public sealed class DecoderModel(ModelHyperparameters hp, IWeightMatrix embedding, IReadOnlyList<DecoderLayer> layers,
    RmsNorm outputNorm, IWeightMatrix output)
{
    public ModelHyperparameters Hyperparameters => hp;
    public IWeightMatrix Embedding => embedding;
    public IWeightMatrix Output => output;
    public bool TiedOutput => ReferenceEquals(embedding, output);

    /// <summary>
    /// One step. Writes logits [n_logit_rows, n_vocab] for the batch entries that asked for them, in batch order.
    /// <paramref name="logitRows"/>: [n_logit_rows] batch indices.
    /// </summary>
    public void Forward(Workspace ws, Batch batch, BatchPlan plan, KvCache kv, Compute compute, ReadOnlySpan<int> logitRows, Span<float> logits)
    {
        var n = batch.Count;
        var d = hp.NEmbd;
        var tokens = batch.Tokens;
        for (var t = 0; t < n; t++) embedding.ReadRow(tokens[t], ws.X.AsSpan(t * d, d));
        for (var l = 0; l < layers.Count; l++) layers[l].Forward(ws, l, batch, plan, kv, compute);
        if (logitRows.Length == 0) return;
        // Only the rows that want logits go through the norm and the (large) head: [n_out, n_embd].
        var h = ws.H.AsSpan(0, logitRows.Length * d);
        for (var i = 0; i < logitRows.Length; i++) outputNorm.ApplyRow(ws.X.AsSpan(logitRows[i] * d, d), h.Slice(i * d, d));
        output.MatMul(h, logitRows.Length, logits[..(logitRows.Length * hp.NVocab)], compute);
    }
}
