using System.Numerics.Tensors;
using Sovra.Engine.Cache;
using Sovra.Engine.Model;
using Sovra.Kernels;
using Sovra.Kernels.Formats;

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
    private readonly HeadJob _job;

    /// <summary>One work item per (sequence in the batch, KV head); fields are set for the duration of a run.</summary>
    private sealed class HeadJob(Attention owner) : IParallelJob
    {
        public Workspace? Ws; public Batch? Batch; public BatchPlan? Plan; public KvStore? K, V; public bool F16Path;

        public void Execute(int index, int worker)
        {
            var n = owner._hp.NHeadKv;
            owner.AttendOneHead(Ws!, Ws!.Workers[worker], Batch!, Plan!, Plan!.Groups[index / n], index % n, K!, V!, F16Path);
        }
    }

    /// <summary>
    /// Batches with fewer query tokens than this take llama.cpp's small-batch flash-attention numerics over an F16
    /// cache (ggml-cpu's GGML_FA_TILE_Q: from this many queries up it runs the tiled kernel, which accumulates in float).
    /// </summary>
    public const int SmallBatchTokens = 64;

    public Attention(ModelHyperparameters hp, IWeightMatrix wq, IWeightMatrix wk, IWeightMatrix wv, IWeightMatrix wo, Rope rope,
        float[]? bq = null, float[]? bk = null, float[]? bv = null, RmsNorm? qNorm = null, RmsNorm? kNorm = null)
    {
        _hp = hp; _wq = wq; _wk = wk; _wv = wv; _wo = wo; _rope = rope;
        _bq = bq; _bk = bk; _bv = bv; _qNorm = qNorm; _kNorm = kNorm;
        _scale = 1f / MathF.Sqrt(hp.HeadDimK);
        _job = new HeadJob(this);
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
        compute.MatMulShared(_wq, _wk, _wv, h, n, q, k, v);
        AddBias(q, _bq, n); AddBias(k, _bk, n); AddBias(v, _bv, n);
        if (_qNorm != null) _qNorm.Apply(q, q, n * hp.NHead);
        if (_kNorm != null) _kNorm.Apply(k, k, n * hp.NHeadKv);
        var half = hp.Rope.Dimensions / 2;
        _rope.Apply(q, n, hp.NHead, hp.HeadDimK, ws.RopeCos.AsSpan(0, n * half), ws.RopeSin.AsSpan(0, n * half));
        _rope.Apply(k, n, hp.NHeadKv, hp.HeadDimK, ws.RopeCos.AsSpan(0, n * half), ws.RopeSin.AsSpan(0, n * half));

        var kStore = kv.K(layer);
        var vStore = kv.V(layer);
        var cells = plan.Cells;
        for (var t = 0; t < n; t++)
        {
            kStore.Write(cells[t], k.Slice(t * hp.KDim, hp.KDim));
            vStore.Write(cells[t], v.Slice(t * hp.VDim, hp.VDim));
        }

        _job.Ws = ws; _job.Batch = batch; _job.Plan = plan; _job.K = kStore; _job.V = vStore;
        _job.F16Path = n < SmallBatchTokens && kv.Type == KvCacheType.F16;
        compute.Run(_job, plan.Groups.Count * hp.NHeadKv);
        _job.Ws = null; _job.Batch = null; _job.Plan = null; _job.K = null; _job.V = null;

        _wo.MatMul(ws.Attn.AsSpan(0, n * hp.OutDim), n, ws.Proj.AsSpan(0, n * hp.NEmbd), compute);
    }

    private void AttendOneHead(Workspace ws, AttentionScratch s, Batch batch, BatchPlan plan, BatchPlan.Group g, int kvHead,
        KvStore kStore, KvStore vStore, bool f16Path)
    {
        var hp = _hp;
        int dk = hp.HeadDimK, dv = hp.HeadDimV;
        var cells = plan.VisibleCells(g);
        var positions = plan.VisiblePositions(g);
        var m = cells.Length;
        var stride = AttentionScratch.Padded(m);
        var kt = s.K.AsSpan(0, dk * stride);     // [dk, stride] this head's keys, transposed (F16 path: [m, dk] as stored)
        var vf = s.V.AsSpan(0, m * dv);          // [m, dv]
        if (f16Path)
        {
            // The small-batch path takes one dot per (query row, key), so the keys stay row by row: no transpose.
            for (var j = 0; j < m; j++)
            {
                kStore.Read(cells[j], kvHead * dk, kt.Slice(j * dk, dk));
                vStore.Read(cells[j], kvHead * dv, vf.Slice(j * dv, dv));
            }
        }
        else
        {
            for (var j = 0; j < m; j++)
            {
                kStore.Read(cells[j], kvHead * dk, s.Row);
                for (var d = 0; d < dk; d++) kt[d * stride + j] = s.Row[d];
                vStore.Read(cells[j], kvHead * dv, vf.Slice(j * dv, dv));
            }
            for (var d = 0; d < dk; d++) kt.Slice(d * stride + m, stride - m).Clear();
        }

        // Query rows are (token, query head) pairs of this KV group, four at a time.
        var perKv = hp.NHead / hp.NHeadKv;
        var tokens = plan.GroupTokens.Slice(g.TokenStart, g.TokenCount);
        var rowsTotal = tokens.Length * perKv;
        Span<int> limit = stackalloc int[4];
        Span<int> qOff = stackalloc int[4];
        Span<int> oOff = stackalloc int[4];
        var q = ws.Q.AsSpan();
        var o = ws.Attn.AsSpan();
        var sc = s.Scores.AsSpan(0, 4 * stride);
        for (var r0 = 0; r0 < rowsTotal; r0 += 4)
        {
            var rows = Math.Min(4, rowsTotal - r0);
            var maxLimit = 0;
            for (var r = 0; r < 4; r++)
            {
                var rr = r0 + Math.Min(r, rows - 1);
                var t = tokens[rr / perKv];
                var qh = kvHead * perKv + rr % perKv;
                var pos = batch.Positions[t];
                var l = m;      // visible cells are sorted by position: keep those at or before pos
                while (l > 0 && positions[l - 1] > pos) l--;
                limit[r] = l;
                qOff[r] = t * hp.QDim + qh * dk;
                oOff[r] = t * hp.OutDim + qh * dv;
                maxLimit = Math.Max(maxLimit, l);
            }
            var keys = AttentionScratch.Padded(maxLimit);
            if (f16Path)
            {
                AttendRowsF16(s, q, o, qOff, oOff, limit, rows, kt, stride, dk, dv, maxLimit, vf);
                continue;
            }
            AttentionKernels.Scores(kt, stride, dk, keys, _scale,
                q.Slice(qOff[0], dk), q.Slice(qOff[1], dk), q.Slice(qOff[2], dk), q.Slice(qOff[3], dk), rows,
                sc[..stride], sc.Slice(stride, stride), sc.Slice(2 * stride, stride), sc.Slice(3 * stride, stride));
            if (dv % 8 == 0)
            {
                GgmlAttention.AttendTiled(sc, stride, limit, rows, vf, dv, s.Tile,
                    o.Slice(oOff[0], dv), o.Slice(oOff[1], dv), o.Slice(oOff[2], dv), o.Slice(oOff[3], dv));
            }
            else
            {
                for (var r = 0; r < rows; r++)
                {
                    var row = sc.Slice(r * stride, keys);
                    TensorPrimitives.SoftMax(row[..limit[r]], row[..limit[r]]);
                    row[limit[r]..].Clear();
                }
                for (var r = 0; r < rows; r++)
                {
                    var ov = o.Slice(oOff[r], dv);
                    ov.Clear();
                    var p = sc.Slice(r * stride, stride);
                    for (var j = 0; j < limit[r]; j++) TensorPrimitives.MultiplyAdd(vf.Slice(j * dv, dv), p[j], ov, ov);
                }
            }
        }
    }

    /// <summary>
    /// llama.cpp's flash attention for small batches over an F16 cache (ggml_compute_forward_flash_attn_ext_f16_one_chunk),
    /// number for number where it matters: the query is rounded to F16 for the K dot (products of two halves are exact in
    /// float, so only the summation order differs), and keys are visited in position order with an online softmax whose
    /// running sum of p · v is kept in F16 — rounded after every rescale and every multiply-add — then divided by the
    /// float sum of weights. That F16 accumulator moves outputs by ~1e-3 relative, enough to flip Q8 activation roundings
    /// downstream, so matching it is what keeps Q8_0 greedy decoding on llama.cpp's path.
    /// </summary>
    private void AttendRowsF16(AttentionScratch s, Span<float> q, Span<float> o, ReadOnlySpan<int> qOff, ReadOnlySpan<int> oOff,
        ReadOnlySpan<int> limit, int rows, ReadOnlySpan<float> kf, int stride, int dk, int dv, int keys, ReadOnlySpan<float> vf)
    {
        var qh = s.QHalf.AsSpan(0, 4 * dk);     // [4, dk]
        for (var r = 0; r < rows; r++) GgmlRounding.RoundToHalf(q.Slice(qOff[r], dk), qh.Slice(r * dk, dk));
        var sc = s.Scores.AsSpan(0, 4 * stride);
        // kf: [keys, dk] row by row; each score is ggml_vec_dot_f16 of the F16-rounded query and the key, in its order.
        var width = GgmlAttention.Width;
        for (var j = 0; j < keys; j++)
        {
            var kj = kf.Slice(j * dk, dk);
            for (var r = 0; r < rows; r++) sc[r * stride + j] = GgmlAttention.DotF16(qh.Slice(r * dk, dk), kj, width) * _scale;
        }
        var acc = s.Acc.AsSpan(0, dv);
        for (var r = 0; r < rows; r++)
        {
            var row = sc.Slice(r * stride, keys);
            acc.Clear();
            float m = float.NegativeInfinity, sum = 0;
            for (var j = 0; j < limit[r]; j++)
            {
                var x = row[j];
                float ms = 1, vs = 1;
                if (x > m)
                {
                    ms = MathF.Exp(m - x);
                    m = x;
                    GgmlRounding.ScaleToHalf(acc, ms);
                }
                else vs = MathF.Exp(x - m);
                GgmlRounding.MulAddToHalf(acc, vf.Slice(j * dv, dv), vs);
                sum = sum * ms + vs;
            }
            var inv = sum == 0 ? 0 : 1 / sum;
            TensorPrimitives.Multiply(acc, inv, o.Slice(oOff[r], dv));
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
