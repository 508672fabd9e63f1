using Sovra.Engine.Blocks;
using Sovra.Engine.Model;

namespace Sovra.Engine.Architectures;

/// <summary>
/// One supported <c>general.architecture</c>: how its hyperparameters are read and which blocks its layers are
/// built from. Each architecture is one small file; the shared reading and binding live here.
/// </summary>
public abstract class Architecture
{
    public abstract string Name { get; }
    protected abstract RopeStyle RopeStyle { get; }

    private static readonly Architecture[] Known = [new Qwen3Architecture(), new Qwen2Architecture(), new LlamaArchitecture()];

    public static IReadOnlyList<string> SupportedNames => Known.Select(a => a.Name).ToArray();

    public static Architecture For(string? name) =>
        Known.FirstOrDefault(a => a.Name == name)
        ?? throw new ModelLoadException(name == null
            ? "the file has no general.architecture"
            : $"architecture '{name}' is not supported (supported: {string.Join(", ", SupportedNames)})");

    /// <summary>Builds the model; every tensor is checked for presence, shape and type on the way.</summary>
    public abstract DecoderModel Build(ModelHyperparameters hp, WeightBinder w);

    public virtual ModelHyperparameters ReadHyperparameters(IModelSource src)
    {
        var a = Name;
        int req(string key)
        {
            var v = src.GetInteger($"{a}.{key}") ?? throw new ModelLoadException($"metadata key '{a}.{key}' is missing");
            if (v <= 0 || v > int.MaxValue) throw new ModelLoadException($"metadata key '{a}.{key}' = {v} is out of range");
            return (int)v;
        }
        int opt(string key, int fallback)
        {
            var v = src.GetInteger($"{a}.{key}");
            if (v == null) return fallback;
            if (v <= 0 || v > int.MaxValue) throw new ModelLoadException($"metadata key '{a}.{key}' = {v} is out of range");
            return (int)v;
        }
        var nEmbd = req("embedding_length");
        var nHead = req("attention.head_count");
        var nHeadKv = opt("attention.head_count_kv", nHead);
        if (nHead % nHeadKv != 0)
            throw new ModelLoadException($"attention.head_count {nHead} is not a multiple of attention.head_count_kv {nHeadKv}");
        var headK = opt("attention.key_length", nEmbd / nHead);
        var headV = opt("attention.value_length", nEmbd / nHead);
        var eps = (float)(src.GetFloat($"{a}.attention.layer_norm_rms_epsilon")
            ?? throw new ModelLoadException($"metadata key '{a}.attention.layer_norm_rms_epsilon' is missing"));
        var ropeDims = opt("rope.dimension_count", headK);
        if (ropeDims > headK || ropeDims % 2 != 0)
            throw new ModelLoadException($"rope.dimension_count {ropeDims} does not fit a head of {headK}");
        var nVocab = (int?)src.GetInteger($"{a}.vocab_size") ?? src.GetArrayLength("tokenizer.ggml.tokens")
            ?? (int?)src.FindTensor("token_embd.weight")?.Dims.ElementAtOrDefault(1)
            ?? throw new ModelLoadException("the vocabulary size is unknown (no vocab_size, tokenizer tokens or token_embd.weight)");
        return new ModelHyperparameters
        {
            Architecture = a,
            NVocab = nVocab,
            NCtxTrain = req("context_length"),
            NEmbd = nEmbd,
            NLayer = req("block_count"),
            NHead = nHead,
            NHeadKv = nHeadKv,
            HeadDimK = headK,
            HeadDimV = headV,
            NFf = ReadFeedForwardLength(src),
            RmsEps = eps,
            Rope = ReadRope(src, ropeDims),
            NExpert = (int)Math.Clamp(src.GetInteger($"{a}.expert_count") ?? 0, 0, int.MaxValue),
            NExpertUsed = (int)Math.Clamp(src.GetInteger($"{a}.expert_used_count") ?? 0, 0, int.MaxValue),
        };
    }

    protected virtual int ReadFeedForwardLength(IModelSource src)
    {
        var v = src.GetInteger($"{Name}.feed_forward_length") ?? throw new ModelLoadException($"metadata key '{Name}.feed_forward_length' is missing");
        if (v <= 0 || v > int.MaxValue) throw new ModelLoadException($"metadata key '{Name}.feed_forward_length' = {v} is out of range");
        return (int)v;
    }

    private RopeSettings ReadRope(IModelSource src, int dims)
    {
        var a = Name;
        var type = src.GetString($"{a}.rope.scaling.type") ?? "none";
        var scaling = type switch
        {
            "none" => RopeScaling.None,
            "linear" => RopeScaling.Linear,
            "yarn" => RopeScaling.Yarn,
            _ => throw new ModelLoadException($"rope scaling type '{type}' is not supported (none, linear, yarn)"),
        };
        var factor = (float)(src.GetFloat($"{a}.rope.scaling.factor") ?? 1.0);
        if (scaling != RopeScaling.None && !(factor > 0)) throw new ModelLoadException($"rope.scaling.factor {factor} must be positive");
        if (factor == 1f && scaling == RopeScaling.Linear) scaling = RopeScaling.None;
        var baseFreq = (float)(src.GetFloat($"{a}.rope.freq_base") ?? 10000.0);
        if (!(baseFreq > 1)) throw new ModelLoadException($"rope.freq_base {baseFreq} must be greater than 1");
        return new RopeSettings
        {
            Style = RopeStyle,
            Dimensions = dims,
            FreqBase = baseFreq,
            Scaling = scaling,
            ScalingFactor = factor,
            OriginalContext = (int)(src.GetInteger($"{a}.rope.scaling.original_context_length") ?? src.GetInteger($"{a}.context_length") ?? 0),
            YarnBetaFast = (float)(src.GetFloat($"{a}.rope.scaling.yarn_beta_fast") ?? 32.0),
            YarnBetaSlow = (float)(src.GetFloat($"{a}.rope.scaling.yarn_beta_slow") ?? 1.0),
            YarnAttnFactor = (float)(src.GetFloat($"{a}.rope.scaling.attn_factor") ?? 1.0),
        };
    }

    /// <summary>The dense decoder shared by qwen2, qwen3 and llama; the hooks say what differs.</summary>
    protected DecoderModel BuildDecoder(ModelHyperparameters hp, WeightBinder w, bool qkNorm, bool qkvBias)
    {
        if (hp.NExpert > 0) throw new ModelLoadException($"{Name} with {hp.NExpert} experts is a mixture-of-experts model, which this architecture does not run");
        var embedding = w.Matrix("token_embd.weight", hp.NVocab, hp.NEmbd);
        var freqFactors = w.OptionalVector("rope_freqs.weight", hp.Rope.Dimensions / 2);
        var rope = new Rope(hp.Rope, freqFactors);
        var layers = new List<DecoderLayer>(hp.NLayer);
        for (var l = 0; l < hp.NLayer; l++)
        {
            var p = $"blk.{l}.";
            var attention = new Attention(hp,
                w.Matrix(p + "attn_q.weight", hp.QDim, hp.NEmbd),
                w.Matrix(p + "attn_k.weight", hp.KDim, hp.NEmbd),
                w.Matrix(p + "attn_v.weight", hp.VDim, hp.NEmbd),
                w.Matrix(p + "attn_output.weight", hp.NEmbd, hp.OutDim),
                rope,
                bq: qkvBias ? w.Vector(p + "attn_q.bias", hp.QDim) : w.OptionalVector(p + "attn_q.bias", hp.QDim),
                bk: qkvBias ? w.Vector(p + "attn_k.bias", hp.KDim) : w.OptionalVector(p + "attn_k.bias", hp.KDim),
                bv: qkvBias ? w.Vector(p + "attn_v.bias", hp.VDim) : w.OptionalVector(p + "attn_v.bias", hp.VDim),
                qNorm: qkNorm ? new RmsNorm(w.Vector(p + "attn_q_norm.weight", hp.HeadDimK), hp.RmsEps) : null,
                kNorm: qkNorm ? new RmsNorm(w.Vector(p + "attn_k_norm.weight", hp.HeadDimK), hp.RmsEps) : null);
            layers.Add(new DecoderLayer(
                new RmsNorm(w.Vector(p + "attn_norm.weight", hp.NEmbd), hp.RmsEps),
                attention,
                new RmsNorm(w.Vector(p + "ffn_norm.weight", hp.NEmbd), hp.RmsEps),
                BuildFeedForward(hp, w, l)));
        }
        var outputNorm = new RmsNorm(w.Vector("output_norm.weight", hp.NEmbd), hp.RmsEps);
        var output = w.OptionalMatrix("output.weight", hp.NVocab, hp.NEmbd) ?? embedding;
        return new DecoderModel(hp, embedding, layers, outputNorm, output);
    }

    /// <summary>Dense SwiGLU; a mixture-of-experts architecture overrides this with its routed block.</summary>
    protected virtual IFeedForward BuildFeedForward(ModelHyperparameters hp, WeightBinder w, int layer)
    {
        var p = $"blk.{layer}.";
        return new SwiGluFeedForward(
            w.Matrix(p + "ffn_gate.weight", hp.NFf, hp.NEmbd),
            w.Matrix(p + "ffn_up.weight", hp.NFf, hp.NEmbd),
            w.Matrix(p + "ffn_down.weight", hp.NEmbd, hp.NFf));
    }
}
