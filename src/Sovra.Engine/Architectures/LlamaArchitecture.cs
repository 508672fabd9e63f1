using Sovra.Engine.Model;

namespace Sovra.Engine.Architectures;

/// <summary>
/// Llama 2/3, DeepSeek-R1-Distill-Llama: interleaved ("normal") RoPE — the converter permutes Q/K for it —,
/// optional biases, optional rope_freqs (Llama 3.1 frequency factors).
/// </summary>
public sealed class LlamaArchitecture : Architecture
{
    public override string Name => "llama";
    protected override RopeStyle RopeStyle => RopeStyle.Interleaved;

    public override DecoderModel Build(ModelHyperparameters hp, WeightBinder w) => BuildDecoder(hp, w, qkNorm: false, qkvBias: false);
}
