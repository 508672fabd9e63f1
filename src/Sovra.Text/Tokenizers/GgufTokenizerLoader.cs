using Sovra.Gguf;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// Reads the tokenizer.ggml.* metadata of a GGUF file into <see cref="TokenizerData"/>, with the meaning
/// llama.cpp gives it: model "gpt2" is byte-level BPE with the pre-tokenizer named by tokenizer.ggml.pre;
/// model "llama" is SentencePiece BPE with byte fallback (merged by score, or by rank when merges are present).
/// Token types decide which tokens are special: control (3) tokens are special, user-defined (4) tokens are
/// added tokens matched in any text. The normalization and ignore_merges settings are those of the Hugging Face
/// tokenizer of the same family (Qwen2: NFC; Llama 3 and o200k: whole-word vocabulary hits).
/// </summary>
public static class GgufTokenizerLoader
{
    public static TokenizerData Load(string path)
    {
        using var file = GgufFile.Open(path);
        return Load(file);
    }

    public static TokenizerData Load(GgufFile file)
    {
        var m = file.Model;
        string source = file.Path ?? "GGUF";
        string model = m.TokenizerModel ?? throw new TokenizerException($"{source}: no tokenizer.ggml.model: the file has no tokenizer");
        var tokens = m.Tokens ?? throw new TokenizerException($"{source}: no tokenizer.ggml.tokens");
        if (tokens.Length == 0) throw new TokenizerException($"{source}: tokenizer.ggml.tokens is empty");
        var rawTypes = m.TokenTypes;
        if (rawTypes != null && rawTypes.Length != tokens.Length)
            throw new TokenizerException($"{source}: tokenizer.ggml.token_type has {rawTypes.Length} entries for {tokens.Length} tokens");
        if (m.Scores is { } sc && sc.Length != tokens.Length)
            throw new TokenizerException($"{source}: tokenizer.ggml.scores has {sc.Length} entries for {tokens.Length} tokens");
        var types = new TokenType[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = rawTypes?[i] ?? 1;
            if (t is < 1 or > 6) throw new TokenizerException($"{source}: token {i} has type {t}, which is not a llama.cpp token type (1..6)");
            types[i] = (TokenType)t;
        }
        var added = new List<AddedToken>();
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] is TokenType.Control or TokenType.UserDefined && tokens[i].Length > 0)
                added.Add(new AddedToken(i, tokens[i], Special: types[i] == TokenType.Control));

        var merges = new List<(string, string)>();
        foreach (var s in m.Merges ?? [])
        {
            int sp = s.IndexOf(' ', 1);
            if (sp <= 0) throw new TokenizerException($"{source}: merge '{s}' is not two tokens separated by a space");
            merges.Add((s[..sp], s[(sp + 1)..]));
        }

        int? Check(int? id, string key) => id is { } v && (v < 0 || v >= tokens.Length)
            ? throw new TokenizerException($"{source}: {key} = {v} is outside the vocabulary of {tokens.Length}") : id;
        var bos = Check(m.BosTokenId, WellKnownKeys.TokenizerBos);
        var eos = Check(m.EosTokenId, WellKnownKeys.TokenizerEos);
        var eog = new[] { Check(m.EotTokenId, WellKnownKeys.TokenizerEot), Check(m.EomTokenId, WellKnownKeys.TokenizerEom) }
            .Where(x => x.HasValue).Select(x => x!.Value).ToArray();

        switch (model)
        {
            case "gpt2":
            {
                string pre = m.TokenizerPre ?? "default";
                var kind = pre switch
                {
                    "qwen2" or "deepseek-r1-qwen" => PreTokenizerKind.Qwen2,
                    "llama-bpe" or "llama3" or "llama-v3" => PreTokenizerKind.Llama3,
                    "deepseek-v3" => PreTokenizerKind.DeepSeekV3,
                    "gpt-4o" => PreTokenizerKind.O200k,
                    _ => throw new TokenizerException($"{source}: tokenizer.ggml.pre '{pre}' is not supported (qwen2, llama-bpe, deepseek-v3, gpt-4o)"),
                };
                if (merges.Count == 0) throw new TokenizerException($"{source}: a gpt2 tokenizer needs tokenizer.ggml.merges");
                bool addBos = m.AddBosToken ?? false, addEos = m.AddEosToken ?? false;
                return new TokenizerData
                {
                    Model = TokenizerModelKind.ByteLevelBpe,
                    PreTokenizer = kind,
                    Tokens = tokens,
                    Types = types,
                    Merges = merges,
                    AddedTokens = added,
                    Nfc = kind == PreTokenizerKind.Qwen2,
                    IgnoreMerges = kind is PreTokenizerKind.Llama3 or PreTokenizerKind.O200k,
                    BosId = bos,
                    EosId = eos,
                    EndOfGenerationIds = eog,
                    Prefix = Affix(addBos, bos, "add_bos_token", "bos", source),
                    Suffix = Affix(addEos, eos, "add_eos_token", "eos", source),
                    Source = source,
                };
            }
            case "llama":
            {
                var unk = Check(m.UnkTokenId, WellKnownKeys.TokenizerUnk) ?? (Array.IndexOf(types, TokenType.Unknown) is var u and >= 0 ? u : null);
                bool addSpace = file.Metadata.GetBoolOrNull(WellKnownKeys.TokenizerAddSpacePrefix) ?? true;
                bool addBos = m.AddBosToken ?? true, addEos = m.AddEosToken ?? false;
                if (merges.Count == 0 && m.Scores == null)
                    throw new TokenizerException($"{source}: a llama (SentencePiece) tokenizer needs tokenizer.ggml.scores or merges");
                return new TokenizerData
                {
                    Model = TokenizerModelKind.SentencePieceBpe,
                    PreTokenizer = PreTokenizerKind.None,
                    Tokens = tokens,
                    Types = types,
                    Scores = m.Scores,
                    Merges = merges,
                    // Control tokens are in the vocabulary too; user-defined ones are matched as added tokens.
                    AddedTokens = added,
                    ReplaceSpaces = true,
                    AddPrefixSpace = addSpace,
                    DecodeStripsLeadingSpace = addSpace,
                    ByteFallback = true,
                    UnknownId = unk,
                    BosId = bos,
                    EosId = eos,
                    EndOfGenerationIds = eog,
                    Prefix = Affix(addBos, bos, "add_bos_token", "bos", source),
                    Suffix = Affix(addEos, eos, "add_eos_token", "eos", source),
                    Source = source,
                };
            }
            default:
                throw new TokenizerException($"{source}: tokenizer.ggml.model '{model}' is not supported (gpt2, llama)");
        }
    }

    private static int[] Affix(bool add, int? id, string flag, string what, string source) =>
        !add ? [] : id is { } v ? [v] : throw new TokenizerException($"{source}: {flag} is set but there is no {what} token id");
}
