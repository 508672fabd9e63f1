using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Synthetic;

/// <summary>
/// Chooses each tensor's storage type. Norms, biases (1-D tensors) and the MoE router stay F32, as llama.cpp keeps
/// them; a row length that is not a whole number of the chosen type's blocks falls back the way llama-quant.cpp does.
/// </summary>
public abstract class TensorTypePolicy
{
    /// <summary>The name users type: a ggml type (F16, Q8_0, ...) or a llama.cpp mix (Q4_K_M, ...).</summary>
    public abstract string Name { get; }

    /// <summary>general.file_type: llama.cpp's llama_ftype for this mix.</summary>
    public abstract uint FileType { get; }

    /// <summary>The type for a weight matrix (2-D or 3-D), before the block-size fallback.</summary>
    protected abstract GgmlType ChooseMatrix(TensorSpec tensor, ModelShape shape);

    public GgmlType Choose(TensorSpec tensor, ModelShape shape)
    {
        if (tensor.Dims.Length < 2 || tensor.Role == TensorRole.FfnGateInp) return GgmlType.F32;
        return Fallback(ChooseMatrix(tensor, shape), tensor.Dims[0]);
    }

    /// <summary>llama-quant.cpp's tensor_type_fallback: K-quants need rows of 256; else a 32-block type, else F16.</summary>
    public static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeInfo.Of(type).BlockSize == 0) return type;
        var next = type switch
        {
            GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS
                or GgmlType.IQ3_S or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 or GgmlType.Q2_0 => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return rowLength % GgmlTypeInfo.Of(next).BlockSize == 0 ? next : GgmlType.F16;
    }

    /// <summary>Parses --type: a ggml type name, or one of the llama.cpp mixes Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M (llama.cpp's Q6_K mix is uniform Q6_K).</summary>
    public static TensorTypePolicy Parse(string name)
    {
        if (LlamaCppMixPolicy.TryCreate(name, out var mix)) return mix;
        if (GgmlTypeInfo.TryParse(name, out var info)) return new UniformTypePolicy(info.Type);
        throw new ArgumentException($"unknown type '{name}': use a ggml type (F32, F16, BF16, Q8_0, ...) or a mix ({string.Join(", ", LlamaCppMixPolicy.Names)})");
    }

    /// <summary>Every type this policy can choose for <paramref name="tensors"/>, which must all be quantizable.</summary>
    public void EnsureQuantizable(IEnumerable<TensorSpec> tensors, ModelShape shape)
    {
        var missing = tensors.Select(t => Choose(t, shape)).Distinct().Where(t => !QuantFormats.CanQuantize(t)).ToList();
        if (missing.Count > 0)
            throw new NotSupportedException($"{Name} needs {string.Join(", ", missing)}, which Sovra cannot quantize to yet");
    }
}

/// <summary>One type for every weight matrix (llama.cpp's --pure, or convert_hf_to_gguf's --outtype).</summary>
public sealed class UniformTypePolicy(GgmlType type) : TensorTypePolicy
{
    public GgmlType Type { get; } = type;

    public override string Name => GgmlTypeInfo.Of(Type).Name;

    public override uint FileType => Type switch
    {
        GgmlType.F32 => 0, GgmlType.F16 => 1, GgmlType.Q4_0 => 2, GgmlType.Q4_1 => 3, GgmlType.Q8_0 => 7, GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9, GgmlType.Q2_K => 10, GgmlType.Q3_K => 11, GgmlType.Q4_K => 14, GgmlType.Q5_K => 16, GgmlType.Q6_K => 18,
        GgmlType.IQ4_NL => 25, GgmlType.IQ4_XS => 30, GgmlType.BF16 => 32, GgmlType.TQ1_0 => 36, GgmlType.TQ2_0 => 37,
        GgmlType.MXFP4 => 38, _ => 1024, // llama.cpp's LLAMA_FTYPE_GUESSED
    };

    protected override GgmlType ChooseMatrix(TensorSpec tensor, ModelShape shape) => Type;
}

/// <summary>
/// llama.cpp's k-quant mixes (llama-quant.cpp, llama_tensor_get_type_impl, without an importance matrix): the output
/// matrix (or the tied embedding) in Q6_K, and for the _M mixes attn_v and ffn_down in Q6_K on the layers
/// use_more_bits picks (the first and last eighth and every third in between).
/// </summary>
public sealed class LlamaCppMixPolicy : TensorTypePolicy
{
    private readonly string _name;
    private readonly GgmlType _default;
    private readonly uint _fileType;

    private LlamaCppMixPolicy(string name, GgmlType defaultType, uint fileType)
    {
        _name = name;
        _default = defaultType;
        _fileType = fileType;
    }

    public static IReadOnlyList<string> Names { get; } = ["Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M"];

    public static bool TryCreate(string name, out TensorTypePolicy policy)
    {
        policy = name.ToUpperInvariant() switch
        {
            "Q4_K_S" => new LlamaCppMixPolicy("Q4_K_S", GgmlType.Q4_K, 14),
            "Q4_K_M" => new LlamaCppMixPolicy("Q4_K_M", GgmlType.Q4_K, 15),
            "Q5_K_S" => new LlamaCppMixPolicy("Q5_K_S", GgmlType.Q5_K, 16),
            "Q5_K_M" => new LlamaCppMixPolicy("Q5_K_M", GgmlType.Q5_K, 17),
            _ => null!,
        };
        return policy != null;
    }

    public override string Name => _name;

    public override uint FileType => _fileType;

    private static bool UseMoreBits(int layer, int layers) => layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    protected override GgmlType ChooseMatrix(TensorSpec t, ModelShape s)
    {
        var eightExperts = s.Experts == 8; // llama.cpp special-cases Mixtral-like 8-expert models
        switch (t.Role)
        {
            case TensorRole.Output:
            case TensorRole.TokenEmbedding when s.TiedEmbeddings:
                return t.Dims[0] % GgmlTypeInfo.Of(_default).BlockSize != 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
            case TensorRole.TokenEmbedding:
                return _default;
            case TensorRole.AttnV:
                if (eightExperts) return GgmlType.Q8_0;
                if (_name is "Q4_K_M" or "Q5_K_M" && UseMoreBits(t.Layer, s.Layers)) return GgmlType.Q6_K;
                if (_name == "Q4_K_S" && t.Layer < 4) return GgmlType.Q5_K;
                return _default;
            case TensorRole.AttnK when eightExperts:
                return GgmlType.Q8_0;
            case TensorRole.FfnDown or TensorRole.FfnDownExps:
                if (_name is "Q4_K_M" or "Q5_K_M" && UseMoreBits(t.Layer, s.Layers)) return GgmlType.Q6_K;
                if (_name == "Q4_K_S" && t.Layer < s.Layers / 8) return GgmlType.Q5_K;
                return _default;
            case TensorRole.AttnOutput when eightExperts && _name is "Q4_K_S" or "Q4_K_M":
                return GgmlType.Q5_K;
            default:
                return _default;
        }
    }
}
