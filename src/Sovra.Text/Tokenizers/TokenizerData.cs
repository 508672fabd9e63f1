namespace Sovra.Text.Tokenizers;

/// <summary>How the text between added tokens is cut into words before BPE.</summary>
public enum PreTokenizerKind
{
    /// <summary>No split: each segment is one word (SentencePiece models).</summary>
    None,
    /// <summary>Qwen2 / Qwen3 (GGUF pre "qwen2"): single digits.</summary>
    Qwen2,
    /// <summary>Llama 3 (GGUF pre "llama-bpe"): digits in groups of up to three.</summary>
    Llama3,
    /// <summary>DeepSeek-V3 (GGUF pre "deepseek-v3"): digits, then CJK runs, then the word pattern.</summary>
    DeepSeekV3,
    /// <summary>gpt-oss / GPT-4o o200k (GGUF pre "gpt-4o"): case-aware words with contractions.</summary>
    O200k,
}

/// <summary>The vocabulary algorithm.</summary>
public enum TokenizerModelKind
{
    /// <summary>GPT-2 style: UTF-8 bytes mapped to printable characters, rank-ordered merges.</summary>
    ByteLevelBpe,
    /// <summary>SentencePiece style: ▁ for spaces, characters as initial symbols, &lt;0xNN&gt; byte fallback;
    /// merged by rank when merges are given, else by piece score.</summary>
    SentencePieceBpe,
}

/// <summary>Token roles, numbered as GGUF's tokenizer.ggml.token_type.</summary>
public enum TokenType
{
    Normal = 1,
    Unknown = 2,
    /// <summary>A special token (HF special=true): matched in text only when special tokens are allowed.</summary>
    Control = 3,
    /// <summary>An added token that is not special (HF special=false): always matched in text.</summary>
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>A token matched literally in the input before pre-tokenization (HF "added_tokens").</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false,
    bool SingleWord = false, bool Normalized = false);

/// <summary>
/// Everything needed to build a <see cref="Tokenizer"/>, independent of where it came from: the
/// tokenizer.json loader and the GGUF loader both fill it, and the tokenizer validates it.
/// </summary>
public sealed class TokenizerData
{
    public required TokenizerModelKind Model { get; init; }
    public PreTokenizerKind PreTokenizer { get; init; }
    /// <summary>Token text by id, as the source stores it (byte-level form, or ▁ form for SentencePiece).</summary>
    public required string[] Tokens { get; init; }
    /// <summary>Role by id; null means Normal for every id not listed in <see cref="AddedTokens"/>.</summary>
    public TokenType[]? Types { get; init; }
    /// <summary>SentencePiece piece scores (used when there are no merges).</summary>
    public float[]? Scores { get; init; }
    /// <summary>Merges in rank order, each as the two token texts.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; init; } = [];
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];
    /// <summary>Apply Unicode NFC before pre-tokenization.</summary>
    public bool Nfc { get; init; }
    /// <summary>SentencePiece: spaces become ▁ (HF normalizer Replace " " → "▁").</summary>
    public bool ReplaceSpaces { get; init; }
    /// <summary>SentencePiece: prepend ▁ to every non-empty segment (HF Prepend / add_dummy_prefix).</summary>
    public bool AddPrefixSpace { get; init; }
    /// <summary>Decoding drops one leading space (HF decoder Strip(" ", 1, 0)), the inverse of AddPrefixSpace.</summary>
    public bool DecodeStripsLeadingSpace { get; init; }
    /// <summary>A word that is itself in the vocabulary is emitted whole, without merging (HF ignore_merges).</summary>
    public bool IgnoreMerges { get; init; }
    /// <summary>Characters missing from the vocabulary become their UTF-8 bytes as &lt;0xNN&gt; tokens.</summary>
    public bool ByteFallback { get; init; }
    /// <summary>Consecutive unknown characters become one unknown token.</summary>
    public bool FuseUnknown { get; init; }
    public int? UnknownId { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    /// <summary>Further ids that end a generation (end of turn, end of message), besides <see cref="EosId"/>.</summary>
    public IReadOnlyList<int> EndOfGenerationIds { get; init; } = [];
    /// <summary>Ids put before / after the text when special tokens are added (HF post-processor, GGUF add_bos/add_eos).</summary>
    public IReadOnlyList<int> Prefix { get; init; } = [];
    public IReadOnlyList<int> Suffix { get; init; } = [];
    /// <summary>Where it came from, for error messages.</summary>
    public string Source { get; init; } = "tokenizer";
}
