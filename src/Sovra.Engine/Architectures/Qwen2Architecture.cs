using Sovra.Engine.Model;

namespace Sovra.Engine.Architectures;

/// <summary>Qwen2 / Qwen2.5 / DeepSeek-R1-Distill-Qwen: NeoX RoPE, biases on Q, K and V.</summary>
public sealed class Qwen2Architecture : Architecture
{
    public override string Name => "qwen2";
    protected override RopeStyle RopeStyle => RopeStyle.NeoX;

    public override DecoderModel Build(ModelHyperparameters hp, WeightBinder w) => BuildDecoder(hp, w, qkNorm: false, qkvBias: true);
}
