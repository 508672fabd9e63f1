namespace Sovra.Gguf;

/// <summary>
/// Metadata keys llama.cpp gives a meaning to, and the check that each one present has the right type and a sane
/// range. <c>{arch}</c> keys are checked under the file's <c>general.architecture</c>.
/// </summary>
public static class WellKnownKeys
{
    public const string GeneralArchitecture = "general.architecture";
    public const string GeneralName = "general.name";
    public const string GeneralAlignment = "general.alignment";
    public const string GeneralFileType = "general.file_type";
    public const string GeneralQuantizationVersion = "general.quantization_version";

    public const string TokenizerModel = "tokenizer.ggml.model";
    public const string TokenizerPre = "tokenizer.ggml.pre";
    public const string TokenizerTokens = "tokenizer.ggml.tokens";
    public const string TokenizerTokenType = "tokenizer.ggml.token_type";
    public const string TokenizerScores = "tokenizer.ggml.scores";
    public const string TokenizerMerges = "tokenizer.ggml.merges";
    public const string TokenizerBos = "tokenizer.ggml.bos_token_id";
    public const string TokenizerEos = "tokenizer.ggml.eos_token_id";
    public const string TokenizerEot = "tokenizer.ggml.eot_token_id";
    public const string TokenizerEom = "tokenizer.ggml.eom_token_id";
    public const string TokenizerUnk = "tokenizer.ggml.unknown_token_id";
    public const string TokenizerPad = "tokenizer.ggml.padding_token_id";
    public const string TokenizerSep = "tokenizer.ggml.seperator_token_id"; // sic, as llama.cpp spells it
    public const string TokenizerCls = "tokenizer.ggml.cls_token_id";
    public const string TokenizerMask = "tokenizer.ggml.mask_token_id";
    public const string TokenizerAddBos = "tokenizer.ggml.add_bos_token";
    public const string TokenizerAddEos = "tokenizer.ggml.add_eos_token";
    public const string TokenizerAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
    public const string ChatTemplate = "tokenizer.chat_template";

    // Suffixes of {arch}.* keys.
    public const string ContextLength = "context_length";
    public const string EmbeddingLength = "embedding_length";
    public const string BlockCount = "block_count";
    public const string FeedForwardLength = "feed_forward_length";
    public const string VocabSize = "vocab_size";
    public const string HeadCount = "attention.head_count";
    public const string HeadCountKv = "attention.head_count_kv";
    public const string KeyLength = "attention.key_length";
    public const string ValueLength = "attention.value_length";
    public const string RmsEpsilon = "attention.layer_norm_rms_epsilon";
    public const string LayerNormEpsilon = "attention.layer_norm_epsilon";
    public const string RopeDimensionCount = "rope.dimension_count";
    public const string RopeFreqBase = "rope.freq_base";
    public const string RopeScalingType = "rope.scaling.type";
    public const string RopeScalingFactor = "rope.scaling.factor";
    public const string RopeScalingAttnFactor = "rope.scaling.attn_factor";
    public const string RopeScalingOriginalContext = "rope.scaling.original_context_length";
    public const string RopeScalingFinetuned = "rope.scaling.finetuned";
    public const string RopeScalingYarnLogMultiplier = "rope.scaling.yarn_log_multiplier";
    public const string ExpertCount = "expert_count";
    public const string ExpertUsedCount = "expert_used_count";
    public const string ExpertFeedForwardLength = "expert_feed_forward_length";
    public const string ExpertSharedCount = "expert_shared_count";
    public const string ExpertSharedFeedForwardLength = "expert_shared_feed_forward_length";

    /// <summary>Special-token id keys, in the order inspect prints them.</summary>
    public static readonly IReadOnlyList<string> SpecialTokenKeys =
        [TokenizerBos, TokenizerEos, TokenizerEot, TokenizerEom, TokenizerUnk, TokenizerPad, TokenizerSep, TokenizerCls, TokenizerMask];

    private enum Kind { Count, CountOrArray, Float, String, Bool }

    // (suffix, kind, min, max): bounds far beyond real models, tight enough that arithmetic on them cannot overflow.
    private static readonly (string Suffix, Kind Kind, long Min, long Max)[] ArchKeys =
    [
        (ContextLength, Kind.Count, 1, uint.MaxValue),
        (EmbeddingLength, Kind.Count, 1, 1 << 24),
        (BlockCount, Kind.Count, 1, 1 << 16),
        (FeedForwardLength, Kind.CountOrArray, 0, 1 << 24),
        (VocabSize, Kind.Count, 1, 1 << 26),
        (HeadCount, Kind.CountOrArray, 0, 1 << 16),
        (HeadCountKv, Kind.CountOrArray, 0, 1 << 16),
        (KeyLength, Kind.Count, 1, 1 << 16),
        (ValueLength, Kind.Count, 1, 1 << 16),
        (RopeDimensionCount, Kind.Count, 0, 1 << 16),
        (ExpertCount, Kind.Count, 0, 1 << 16),
        (ExpertUsedCount, Kind.Count, 0, 1 << 16),
        (ExpertFeedForwardLength, Kind.Count, 0, 1 << 24),
        (ExpertSharedCount, Kind.Count, 0, 1 << 16),
        (ExpertSharedFeedForwardLength, Kind.Count, 0, 1 << 24),
        (RopeScalingOriginalContext, Kind.Count, 0, uint.MaxValue),
        (RmsEpsilon, Kind.Float, 0, 0),
        (LayerNormEpsilon, Kind.Float, 0, 0),
        (RopeFreqBase, Kind.Float, 0, 0),
        (RopeScalingFactor, Kind.Float, 0, 0),
        (RopeScalingAttnFactor, Kind.Float, 0, 0),
        (RopeScalingYarnLogMultiplier, Kind.Float, 0, 0),
        (RopeScalingType, Kind.String, 0, 0),
        (RopeScalingFinetuned, Kind.Bool, 0, 0),
    ];

    private static readonly (string Key, Kind Kind, long Min, long Max)[] GlobalKeys =
    [
        (GeneralName, Kind.String, 0, 0),
        (GeneralFileType, Kind.Count, 0, uint.MaxValue),
        (GeneralQuantizationVersion, Kind.Count, 0, uint.MaxValue),
        (TokenizerModel, Kind.String, 0, 0),
        (TokenizerPre, Kind.String, 0, 0),
        (ChatTemplate, Kind.String, 0, 0),
        (TokenizerAddBos, Kind.Bool, 0, 0),
        (TokenizerAddEos, Kind.Bool, 0, 0),
        (TokenizerAddSpacePrefix, Kind.Bool, 0, 0),
    ];

    /// <summary>Checks every well-known key present; throws <see cref="GgufFormatException"/> naming the first bad one.</summary>
    public static void Validate(GgufMetadata m)
    {
        var arch = m.GetStringOrNull(GeneralArchitecture);
        foreach (var (key, kind, min, max) in GlobalKeys) Check(m, key, kind, min, max);
        if (!string.IsNullOrEmpty(arch))
            foreach (var (suffix, kind, min, max) in ArchKeys) Check(m, arch + "." + suffix, kind, min, max);

        if (arch != null && m.TryGetUInt32(arch + "." + ExpertCount, out var experts) && m.TryGetUInt32(arch + "." + ExpertUsedCount, out var used) && used > experts)
            throw new GgufFormatException(arch + "." + ExpertUsedCount, m.Require(arch + "." + ExpertUsedCount).ValueOffset,
                $"{used} experts used per token but only {experts} exist");

        var tokenCount = -1;
        if (m.TryGetStringArray(TokenizerTokens, out var tokens)) tokenCount = tokens.Length;
        if (m.TryGetStringArray(TokenizerMerges, out _)) { }
        if (m.TryGetInt32Array(TokenizerTokenType, out var types) && tokenCount >= 0 && types.Length != tokenCount)
            throw new GgufFormatException(TokenizerTokenType, m.Require(TokenizerTokenType).ValueOffset,
                $"{types.Length} token types for {tokenCount} tokens");
        if (m.TryGetFloat32Array(TokenizerScores, out var scores) && tokenCount >= 0 && scores.Length != tokenCount)
            throw new GgufFormatException(TokenizerScores, m.Require(TokenizerScores).ValueOffset,
                $"{scores.Length} token scores for {tokenCount} tokens");
        foreach (var key in SpecialTokenKeys) m.TryGetUInt32(key, out _);
    }

    private static void Check(GgufMetadata m, string key, Kind kind, long min, long max)
    {
        if (!m.TryGetEntry(key, out var e)) return;
        switch (kind)
        {
            case Kind.Count:
                m.TryGetInteger(key, min, max, out _);
                break;
            case Kind.CountOrArray when e.Value.IsArray:
                m.TryGetInt32Array(key, out var values);
                for (var i = 0; i < values!.Length; i++)
                    if (values[i] < min || values[i] > max)
                        throw new GgufFormatException($"{key}[{i}]", e.ValueOffset, $"{values[i]} is out of range [{min}, {max}]");
                break;
            case Kind.CountOrArray:
                m.TryGetInteger(key, Math.Max(min, 1), max, out _);
                break;
            case Kind.Float:
                m.TryGetDouble(key, out var d);
                if (!double.IsFinite(d)) throw new GgufFormatException(key, e.ValueOffset, $"'{key}' is {d}, not a finite number");
                break;
            case Kind.String:
                m.TryGetString(key, out _);
                break;
            case Kind.Bool:
                m.TryGetBool(key, out _);
                break;
        }
    }
}
