namespace Sovra.Engine.Blocks;

/// <summary>
/// The FFN of a layer: reads ws.H [n, n_embd] and writes ws.Proj [n, n_embd]. Dense SwiGLU today; a MoE block
/// (router ffn_gate_inp, top-k of ffn_{gate,up,down}_exps) implements the same contract.
/// </summary>
public interface IFeedForward
{
    void Forward(Workspace ws, int n, Model.Compute compute);
}
