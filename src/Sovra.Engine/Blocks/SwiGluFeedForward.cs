using System.Numerics.Tensors;
using Sovra.Engine.Model;

namespace Sovra.Engine.Blocks;

/// <summary>down( silu(gate · h) ⊙ (up · h) ).</summary>
public sealed class SwiGluFeedForward(IWeightMatrix gate, IWeightMatrix up, IWeightMatrix down) : IFeedForward
{
    public void Forward(Workspace ws, int n, Compute compute)
    {
        var nff = gate.Rows;
        var h = ws.H.AsSpan(0, n * gate.Cols);   // [n, n_embd]
        var g = ws.Gate.AsSpan(0, n * nff);      // [n, n_ff]
        var u = ws.Up.AsSpan(0, n * nff);        // [n, n_ff]
        gate.MatMul(h, n, g, compute);
        up.MatMul(h, n, u, compute);
        // silu(g)·u = g·u·sigmoid(g)
        TensorPrimitives.Multiply(u, g, u);
        TensorPrimitives.Sigmoid(g, g);
        TensorPrimitives.Multiply(u, g, u);
        down.MatMul(u, n, ws.Proj.AsSpan(0, n * down.Rows), compute);
    }
}
