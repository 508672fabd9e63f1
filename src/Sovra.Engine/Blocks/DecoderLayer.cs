using System.Numerics.Tensors;
using Sovra.Engine.Cache;
using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>Pre-norm transformer layer: x += attn(norm(x)); x += ffn(norm(x)).</summary>
public sealed class DecoderLayer(RmsNorm attnNorm, Attention attention, RmsNorm ffnNorm, IFeedForward ffn)
{
    public void Forward(Workspace ws, int layer, Batch batch, BatchPlan plan, KvCache kv, Compute compute)
    {
        var n = batch.Count;
        var d = attnNorm.Size;
        var x = ws.X.AsSpan(0, n * d);      // [n, n_embd]
        var h = ws.H.AsSpan(0, n * d);
        var p = ws.Proj.AsSpan(0, n * d);
        attnNorm.Apply(x, h, n);
        attention.Forward(ws, layer, batch, plan, kv, compute);
        TensorPrimitives.Add(x, p, x);
        ffnNorm.Apply(x, h, n);
        ffn.Forward(ws, n, compute);
        TensorPrimitives.Add(x, p, x);
    }
}
