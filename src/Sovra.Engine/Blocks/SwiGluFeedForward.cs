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
        compute.MatMulShared(gate, up, null, h, n, g, u, default);
        GgmlSwiGlu.Apply(g, u, u);   // silu(g)·u with llama.cpp's own e^x (its last bits feed the Q8 rounding of down's input)
        down.MatMul(u, n, ws.Proj.AsSpan(0, n * down.Rows), compute);
    }
}
