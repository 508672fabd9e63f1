namespace Sovra.Gguf;

/// <summary>
/// The well-known keys of a model file, typed. <c>{arch}.*</c> keys are read under <see cref="Architecture"/>.
/// Absent keys are null, except where llama.cpp defines a default (HeadCountKv, KeyLength, ValueLength,
/// RopeFreqBase...), which is then applied and named in the property's comment. Values were range-checked when
/// the file was opened (<see cref="WellKnownKeys"/>).
/// </summary>
public sealed class ModelMetadata
{
    public ModelMetadata(GgufMetadata metadata, GgufFile? file = null)
    {
        var m = metadata;
        Architecture = m.GetString(WellKnownKeys.GeneralArchitecture);
        if (Architecture.Length == 0)
            throw new GgufFormatException(WellKnownKeys.GeneralArchitecture, m.Require(WellKnownKeys.GeneralArchitecture).ValueOffset, "the architecture name is empty");
        string K(string suffix) => Architecture + "." + suffix;

        Name = m.GetStringOrNull(WellKnownKeys.GeneralName);
        FileType = m.GetUInt32OrNull(WellKnownKeys.GeneralFileType);
        BlockCount = m.GetUInt32OrNull(K(WellKnownKeys.BlockCount));
        ContextLength = m.GetUInt32OrNull(K(WellKnownKeys.ContextLength));
        EmbeddingLength = m.GetUInt32OrNull(K(WellKnownKeys.EmbeddingLength));
        FeedForwardLengthPerLayer = ScalarOrArray(m, K(WellKnownKeys.FeedForwardLength));
        HeadCountPerLayer = ScalarOrArray(m, K(WellKnownKeys.HeadCount));
        HeadCountKvPerLayer = ScalarOrArray(m, K(WellKnownKeys.HeadCountKv)) ?? HeadCountPerLayer;
        FeedForwardLength = Max(FeedForwardLengthPerLayer);
        HeadCount = Max(HeadCountPerLayer);
        HeadCountKv = Max(HeadCountKvPerLayer);
        var defaultHeadDim = EmbeddingLength is > 0 && HeadCount is > 0 ? EmbeddingLength / HeadCount : null;
        KeyLength = m.GetUInt32OrNull(K(WellKnownKeys.KeyLength)) ?? defaultHeadDim;
        ValueLength = m.GetUInt32OrNull(K(WellKnownKeys.ValueLength)) ?? defaultHeadDim;
        RopeDimensionCount = m.GetUInt32OrNull(K(WellKnownKeys.RopeDimensionCount)) ?? KeyLength;
        RopeFreqBase = m.GetFloat32OrNull(K(WellKnownKeys.RopeFreqBase)) ?? 10000f;
        RopeScalingType = m.GetStringOrNull(K(WellKnownKeys.RopeScalingType));
        RopeScalingFactor = m.GetFloat32OrNull(K(WellKnownKeys.RopeScalingFactor));
        RopeScalingAttnFactor = m.GetFloat32OrNull(K(WellKnownKeys.RopeScalingAttnFactor));
        RopeScalingOriginalContext = m.GetUInt32OrNull(K(WellKnownKeys.RopeScalingOriginalContext));
        RmsEpsilon = m.GetFloat32OrNull(K(WellKnownKeys.RmsEpsilon));
        LayerNormEpsilon = m.GetFloat32OrNull(K(WellKnownKeys.LayerNormEpsilon));
        ExpertCount = m.GetUInt32OrNull(K(WellKnownKeys.ExpertCount));
        ExpertUsedCount = m.GetUInt32OrNull(K(WellKnownKeys.ExpertUsedCount));
        ExpertFeedForwardLength = m.GetUInt32OrNull(K(WellKnownKeys.ExpertFeedForwardLength));
        ExpertSharedCount = m.GetUInt32OrNull(K(WellKnownKeys.ExpertSharedCount));

        TokenizerModel = m.GetStringOrNull(WellKnownKeys.TokenizerModel);
        TokenizerPre = m.GetStringOrNull(WellKnownKeys.TokenizerPre);
        Tokens = m.TryGetStringArray(WellKnownKeys.TokenizerTokens, out var tokens) ? tokens : null;
        TokenTypes = m.TryGetInt32Array(WellKnownKeys.TokenizerTokenType, out var types) ? types : null;
        Scores = m.TryGetFloat32Array(WellKnownKeys.TokenizerScores, out var scores) ? scores : null;
        Merges = m.TryGetStringArray(WellKnownKeys.TokenizerMerges, out var merges) ? merges : null;
        AddBosToken = m.GetBoolOrNull(WellKnownKeys.TokenizerAddBos);
        AddEosToken = m.GetBoolOrNull(WellKnownKeys.TokenizerAddEos);
        ChatTemplate = m.GetStringOrNull(WellKnownKeys.ChatTemplate);

        var embd = file?.FindTensor("token_embd.weight");
        VocabSize = m.GetUInt32OrNull(K(WellKnownKeys.VocabSize)) is { } vs ? (int)vs
            : Tokens?.Length ?? (embd is { Dimensions.Length: >= 2 } ? (int)Math.Min(int.MaxValue, embd.Dimensions[1]) : null);

        BosTokenId = Special(m, WellKnownKeys.TokenizerBos);
        EosTokenId = Special(m, WellKnownKeys.TokenizerEos);
        EotTokenId = Special(m, WellKnownKeys.TokenizerEot);
        EomTokenId = Special(m, WellKnownKeys.TokenizerEom);
        UnkTokenId = Special(m, WellKnownKeys.TokenizerUnk);
        PadTokenId = Special(m, WellKnownKeys.TokenizerPad);
        SepTokenId = Special(m, WellKnownKeys.TokenizerSep);
    }

    public string Architecture { get; }
    public string? Name { get; }
    /// <summary>general.file_type: llama.cpp's llama_ftype (1 = F16, 7 = Q8_0, 15 = Q4_K_M, ...).</summary>
    public uint? FileType { get; }
    public uint? BlockCount { get; }
    /// <summary>The context length the model was trained for.</summary>
    public uint? ContextLength { get; }
    public uint? EmbeddingLength { get; }
    /// <summary>The dense FFN width; the largest layer's when the file gives one per layer.</summary>
    public uint? FeedForwardLength { get; }
    public uint[]? FeedForwardLengthPerLayer { get; }
    /// <summary>Query heads (the largest layer's when per layer).</summary>
    public uint? HeadCount { get; }
    public uint[]? HeadCountPerLayer { get; }
    /// <summary>Key/value heads; defaults to HeadCount (no GQA), as in llama.cpp.</summary>
    public uint? HeadCountKv { get; }
    public uint[]? HeadCountKvPerLayer { get; }
    /// <summary>Per-head key width; defaults to EmbeddingLength / HeadCount.</summary>
    public uint? KeyLength { get; }
    /// <summary>Per-head value width; defaults to EmbeddingLength / HeadCount.</summary>
    public uint? ValueLength { get; }
    /// <summary>Rotary dimensions; defaults to KeyLength.</summary>
    public uint? RopeDimensionCount { get; }
    /// <summary>RoPE theta; defaults to 10000.</summary>
    public float RopeFreqBase { get; }
    /// <summary>none, linear, yarn, longrope.</summary>
    public string? RopeScalingType { get; }
    public float? RopeScalingFactor { get; }
    public float? RopeScalingAttnFactor { get; }
    public uint? RopeScalingOriginalContext { get; }
    public float? RmsEpsilon { get; }
    public float? LayerNormEpsilon { get; }
    public uint? ExpertCount { get; }
    public uint? ExpertUsedCount { get; }
    public uint? ExpertFeedForwardLength { get; }
    public uint? ExpertSharedCount { get; }
    public bool IsMixtureOfExperts => ExpertCount is > 0;

    /// <summary>{arch}.vocab_size, else the number of tokens, else token_embd's second dimension.</summary>
    public int? VocabSize { get; }
    /// <summary>tokenizer.ggml.model: gpt2 (byte-level BPE), llama (SentencePiece), bert, t5, rwkv, ...</summary>
    public string? TokenizerModel { get; }
    /// <summary>tokenizer.ggml.pre: the pre-tokenizer (qwen2, llama-bpe, deepseek-v3, ...).</summary>
    public string? TokenizerPre { get; }
    public string[]? Tokens { get; }
    /// <summary>1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.</summary>
    public int[]? TokenTypes { get; }
    public float[]? Scores { get; }
    public string[]? Merges { get; }
    /// <summary>Special-token ids; null when absent or outside the vocabulary (llama.cpp then ignores them too).</summary>
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? EotTokenId { get; }
    public int? EomTokenId { get; }
    public int? UnkTokenId { get; }
    public int? PadTokenId { get; }
    public int? SepTokenId { get; }
    public bool? AddBosToken { get; }
    public bool? AddEosToken { get; }
    public string? ChatTemplate { get; }

    private int? Special(GgufMetadata m, string key) =>
        m.TryGetUInt32(key, out var id) && (Tokens == null || id < Tokens.Length) ? (int)id : null;

    private static uint[]? ScalarOrArray(GgufMetadata m, string key)
    {
        if (!m.TryGetEntry(key, out var e)) return null;
        if (!e.Value.IsArray) return [m.GetUInt32(key)];
        m.TryGetInt32Array(key, out var values);
        return Array.ConvertAll(values!, v => (uint)v);
    }

    private static uint? Max(uint[]? values) => values is { Length: > 0 } ? values.Max() : null;
}
