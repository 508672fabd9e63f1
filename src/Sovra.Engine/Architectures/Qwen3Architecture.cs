using Sovra.Engine.Model;

namespace Sovra.Engine.Architectures;

/// <summary>Qwen3 dense: NeoX RoPE, per-head RMSNorm of Q and K (attn_q_norm / attn_k_norm), no QKV biases.</summary>
public sealed class Qwen3Architecture : Architecture
{
    public override string Name => "qwen3";
    protected override RopeStyle RopeStyle => RopeStyle.NeoX;

    public override DecoderModel Build(ModelHyperparameters hp, WeightBinder w) => BuildDecoder(hp, w, qkNorm: true, qkvBias: false);
}
