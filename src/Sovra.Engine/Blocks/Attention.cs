using System.Numerics.Tensors;
using Sovra.Engine.Cache;
using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>
/// Grouped-query self-attention over the KV cache: Q/K/V projections (+ biases for qwen2), optional per-head
/// RMSNorm of Q and K (qwen3), RoPE, causal softmax attention per sequence, output projection.
/// </summary>
public sealed class Attention
{
    private readonly ModelHyperparameters _hp;
    private readonly IWeightMatrix _wq, _wk, _wv, _wo;
    private readonly float[]? _bq, _bk, _bv;     // [q_dim], [k_dim], [v_dim]
    private readonly RmsNorm? _qNorm, _kNorm;    // over one head: [head_dim_k]
    private readonly Rope _rope;
    private readonly float _scale;

    public Attention(ModelHyperparameters hp, IWeightMatrix wq, IWeightMatrix wk, IWeightMatrix wv, IWeightMatrix wo, Rope rope,
        float[]? bq = null, float[]? bk = null, float[]? bv = null, RmsNorm? qNorm = null, RmsNorm? kNorm = null)
    {
        _hp = hp; _wq = wq; _wk = wk; _wv = wv; _wo = wo; _rope = rope;
        _bq = bq; _bk = bk; _bv = bv; _qNorm = qNorm; _kNorm = kNorm;
        _scale = 1f / MathF.Sqrt(hp.HeadDimK);
    }

    /// <summary>Reads ws.H [n, n_embd], writes ws.Proj [n, n_embd]; stores this layer's K/V rows in the cache.</summary>
    public void Forward(Workspace ws, int layer, Batch batch, BatchPlan plan, KvCache kv, Compute compute)
    {
        var n = batch.Count;
        var hp = _hp;
        var q = ws.Q.AsSpan(0, n * hp.QDim);    // [n, n_head · head_dim_k]
        var k = ws.K.AsSpan(0, n * hp.KDim);    // [n, n_head_kv · head_dim_k]
        var v = ws.V.AsSpan(0, n * hp.VDim);    // [n, n_head_kv · head_dim_v]
        var h = ws.H.AsSpan(0, n * hp.NEmbd);
        _wq.MatMul(h, n, q, compute);
        _wk.MatMul(h, n, k, compute);
        _wv.MatMul(h, n, v, compute);
        AddBias(q, _bq, n); AddBias(k, _bk, n); AddBias(v, _bv, n);
        if (_qNorm != null) _qNorm.Apply(q, q, n * hp.NHead);
        if (_kNorm != null) _kNorm.Apply(k, k, n * hp.NHeadKv);
        _rope.Apply(q, batch.Positions, hp.NHead, hp.HeadDimK);
        _rope.Apply(k, batch.Positions, hp.NHeadKv, hp.HeadDimK);

        var kStore = kv.K(layer);
        var vStore = kv.V(layer);
        var cells = plan.Cells;
        for (var t = 0; t < n; t++)
        {
            kStore.Write(cells[t], k.Slice(t * hp.KDim, hp.KDim));
            vStore.Write(cells[t], v.Slice(t * hp.VDim, hp.VDim));
        }

        var groups = plan.Groups;
        compute.ForEach(groups.Count * hp.NHeadKv, (w, item) =>
            AttendOneHead(ws, ws.Workers[w], batch, plan, groups[item / hp.NHeadKv], item % hp.NHeadKv, kStore, vStore));

        _wo.MatMul(ws.Attn.AsSpan(0, n * hp.OutDim), n, ws.Proj.AsSpan(0, n * hp.NEmbd), compute);
    }

    private void AttendOneHead(Workspace ws, AttentionScratch s, Batch batch, BatchPlan plan, BatchPlan.Group g, int kvHead,
        KvStore kStore, KvStore vStore)
    {
        var hp = _hp;
        int dk = hp.HeadDimK, dv = hp.HeadDimV;
        var cells = plan.VisibleCells(g);
        var positions = plan.VisiblePositions(g);
        var m = cells.Length;
        for (var j = 0; j < m; j++)
        {
            kStore.Read(cells[j], kvHead * dk, s.K.AsSpan(j * dk, dk));
            vStore.Read(cells[j], kvHead * dv, s.V.AsSpan(j * dv, dv));
        }
        var perKv = hp.NHead / hp.NHeadKv;
        var tokens = plan.GroupTokens.Slice(g.TokenStart, g.TokenCount);
        var q = ws.Q.AsSpan();
        var o = ws.Attn.AsSpan();
        foreach (var t in tokens)
        {
            var pos = batch.Positions[t];
            var limit = m;     // visible cells are sorted by position: keep those at or before pos
            while (limit > 0 && positions[limit - 1] > pos) limit--;
            var scores = s.Scores.AsSpan(0, limit);
            for (var qh = kvHead * perKv; qh < (kvHead + 1) * perKv; qh++)
            {
                var qv = q.Slice(t * hp.QDim + qh * dk, dk);
                for (var j = 0; j < limit; j++) scores[j] = TensorPrimitives.Dot(qv, s.K.AsSpan(j * dk, dk)) * _scale;
                TensorPrimitives.SoftMax(scores, scores);
                var ov = o.Slice(t * hp.OutDim + qh * dv, dv);
                ov.Clear();
                for (var j = 0; j < limit; j++) TensorPrimitives.MultiplyAdd(s.V.AsSpan(j * dv, dv), scores[j], ov, ov);
            }
        }
    }

    private static void AddBias(Span<float> x, float[]? bias, int n)
    {
        if (bias == null) return;
        for (var t = 0; t < n; t++)
        {
            var row = x.Slice(t * bias.Length, bias.Length);
            TensorPrimitives.Add(row, bias, row);
        }
    }
}
