using System.Text.Json;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// Reads a Hugging Face tokenizer.json into <see cref="TokenizerData"/>. Only pipelines Sovra reproduces
/// exactly are accepted (BPE model; NFC / Replace / Prepend normalizers; the Qwen2, Llama 3, DeepSeek-V3 and
/// o200k split patterns with ByteLevel; ByteLevel, Metaspace or Replace+ByteFallback+Fuse(+Strip) decoders);
/// anything else is a <see cref="TokenizerException"/> naming the part that is not supported.
/// </summary>
public static class TokenizerJsonLoader
{
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string O200kPattern = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string DeepSeekDigits = @"\p{N}{1,3}";
    public const string DeepSeekCjk = "[一-龥぀-ゟ゠-ヿ]+";
    public const string DeepSeekWords = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

    /// <summary>Loads tokenizer.json; a tokenizer_config.json beside it supplies the BOS / EOS tokens.</summary>
    public static TokenizerData Load(string path)
    {
        byte[] json;
        try { json = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerException($"cannot read {path}: {e.Message}", e);
        }
        string? config = null;
        var configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", "tokenizer_config.json");
        if (File.Exists(configPath)) config = File.ReadAllText(configPath);
        return Parse(json, config, path);
    }

    public static TokenizerData Parse(ReadOnlyMemory<byte> tokenizerJson, string? tokenizerConfigJson = null, string source = "tokenizer.json")
    {
        try
        {
            using var doc = JsonDocument.Parse(tokenizerJson, new JsonDocumentOptions { MaxDepth = 64 });
            using var cfg = tokenizerConfigJson == null ? null : JsonDocument.Parse(tokenizerConfigJson);
            return Read(doc.RootElement, cfg?.RootElement, source);
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{source}: not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerException($"{source}: unexpected JSON shape: {e.Message}", e);
        }
    }

    private static TokenizerData Read(JsonElement root, JsonElement? config, string source)
    {
        var model = Prop(root, "model") ?? throw new TokenizerException($"{source}: no 'model'");
        string type = Str(model, "type") ?? "BPE";
        if (type != "BPE") throw new TokenizerException($"{source}: model type '{type}' is not supported (only BPE)");
        foreach (var key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (Str(model, key) is { Length: > 0 } v) throw new TokenizerException($"{source}: model.{key} '{v}' is not supported");
        if (Prop(model, "dropout") is { ValueKind: JsonValueKind.Number } d && d.GetDouble() > 0)
            throw new TokenizerException($"{source}: BPE dropout is not supported");

        var vocab = Prop(model, "vocab") ?? throw new TokenizerException($"{source}: no model.vocab");
        var entries = new List<(string Text, int Id)>();
        int maxId = -1;
        foreach (var p in vocab.EnumerateObject())
        {
            int id = p.Value.GetInt32();
            if (id < 0 || id > 16_000_000) throw new TokenizerException($"{source}: vocabulary id {id} of '{p.Name}' is out of range");
            entries.Add((p.Name, id));
            maxId = Math.Max(maxId, id);
        }
        var tokens = new string[maxId + 1];
        foreach (var (t, id) in entries)
        {
            if (tokens[id] != null) throw new TokenizerException($"{source}: vocabulary id {id} is used twice");
            tokens[id] = t;
        }
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] == null) throw new TokenizerException($"{source}: vocabulary has no token with id {i}");

        var merges = new List<(string, string)>();
        if (Prop(model, "merges") is { ValueKind: JsonValueKind.Array } ms)
            foreach (var m in ms.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    var s = m.GetString()!;
                    int sp = s.IndexOf(' ', 1);
                    if (sp <= 0) throw new TokenizerException($"{source}: merge '{s}' is not two tokens separated by a space");
                    merges.Add((s[..sp], s[(sp + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else throw new TokenizerException($"{source}: a merge is neither \"a b\" nor [a, b]");
            }

        var added = new List<AddedToken>();
        if (Prop(root, "added_tokens") is { ValueKind: JsonValueKind.Array } at)
            foreach (var a in at.EnumerateArray())
                added.Add(new AddedToken(a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString()!,
                    Bool(a, "special"), Bool(a, "lstrip"), Bool(a, "rstrip"), Bool(a, "single_word"), Bool(a, "normalized")));

        var norm = ReadNormalizer(Prop(root, "normalizer"), source);
        var pre = ReadPreTokenizer(Prop(root, "pre_tokenizer"), source, out bool byteLevelPre);
        var dec = ReadDecoder(Prop(root, "decoder"), source);
        bool byteLevel = byteLevelPre || dec.ByteLevel;
        if (byteLevel && !(byteLevelPre && dec.ByteLevel))
            throw new TokenizerException($"{source}: a ByteLevel pre-tokenizer needs a ByteLevel decoder and the other way round");
        if (byteLevel && (norm.ReplaceSpaces || norm.Prepend))
            throw new TokenizerException($"{source}: SentencePiece normalizers with a ByteLevel pre-tokenizer are not supported");

        int? IdOf(string? content)
        {
            if (content == null) return null;
            foreach (var a in added) if (a.Content == content) return a.Id;
            foreach (var (t, id) in entries) if (t == content) return id;
            return null;
        }
        var (prefix, suffix) = ReadPostProcessor(Prop(root, "post_processor"), source);
        string? unk = Str(model, "unk_token");
        return new TokenizerData
        {
            Model = byteLevel ? TokenizerModelKind.ByteLevelBpe : TokenizerModelKind.SentencePieceBpe,
            PreTokenizer = pre,
            Tokens = tokens,
            Merges = merges,
            AddedTokens = added,
            Nfc = norm.Nfc,
            ReplaceSpaces = norm.ReplaceSpaces,
            AddPrefixSpace = norm.Prepend,
            DecodeStripsLeadingSpace = dec.StripLeadingSpace,
            IgnoreMerges = Bool(model, "ignore_merges"),
            ByteFallback = Bool(model, "byte_fallback"),
            FuseUnknown = Bool(model, "fuse_unk"),
            UnknownId = unk == null ? null : IdOf(unk) ?? throw new TokenizerException($"{source}: unk_token '{unk}' is not in the vocabulary"),
            BosId = IdOf(ConfigToken(config, "bos_token")),
            EosId = IdOf(ConfigToken(config, "eos_token")),
            Prefix = prefix,
            Suffix = suffix,
            Source = source,
        };
    }

    private static (bool Nfc, bool ReplaceSpaces, bool Prepend) ReadNormalizer(JsonElement? n, string source)
    {
        bool nfc = false, replace = false, prepend = false;
        void Visit(JsonElement e)
        {
            switch (Str(e, "type"))
            {
                case "Sequence":
                    foreach (var x in e.GetProperty("normalizers").EnumerateArray()) Visit(x);
                    break;
                case "NFC": nfc = true; break;
                case "Replace" when Prop(e, "pattern") is { } p && Str(p, "String") == " " && Str(e, "content") == "▁":
                    replace = true; break;
                case "Prepend" when Str(e, "prepend") == "▁":
                    prepend = true; break;
                case var t:
                    throw new TokenizerException($"{source}: normalizer '{t}' ({e.GetRawText()}) is not supported");
            }
        }
        if (n is { ValueKind: JsonValueKind.Object } o) Visit(o);
        return (nfc, replace, prepend);
    }

    private static PreTokenizerKind ReadPreTokenizer(JsonElement? p, string source, out bool byteLevel)
    {
        byteLevel = false;
        if (p is not { ValueKind: JsonValueKind.Object } pre) return PreTokenizerKind.None;
        var steps = Str(pre, "type") == "Sequence" ? pre.GetProperty("pretokenizers").EnumerateArray().ToList() : [pre];
        var patterns = new List<string>();
        foreach (var s in steps)
        {
            switch (Str(s, "type"))
            {
                case "ByteLevel":
                    if (Bool(s, "add_prefix_space") || (Prop(s, "use_regex") is { } ur && ur.GetBoolean() && steps.Count > 1))
                        throw new TokenizerException($"{source}: ByteLevel pre-tokenizer with add_prefix_space or its own regex is not supported");
                    if (Prop(s, "use_regex") is not { } u || u.GetBoolean())
                        throw new TokenizerException($"{source}: the GPT-2 ByteLevel regex is not supported");
                    byteLevel = true;
                    break;
                case "Split":
                    var pat = Prop(s, "pattern");
                    if (Str(s, "behavior") is var b && pat is { } pp && Str(pp, "String") == " " && b == "MergedWithPrevious")
                        break; // Gemma: splits on spaces that its normalizer has already turned into ▁ — a no-op.
                    if (b != "Isolated" || Bool(s, "invert"))
                        throw new TokenizerException($"{source}: Split behaviour '{b}' is not supported");
                    patterns.Add(pat is { } q && Str(q, "Regex") is { } r ? r
                        : throw new TokenizerException($"{source}: Split without a regex is not supported"));
                    break;
                case var t:
                    throw new TokenizerException($"{source}: pre-tokenizer '{t}' is not supported");
            }
        }
        return patterns switch
        {
            [] => PreTokenizerKind.None,
            [Qwen2Pattern] => PreTokenizerKind.Qwen2,
            [Llama3Pattern] => PreTokenizerKind.Llama3,
            [O200kPattern] => PreTokenizerKind.O200k,
            [DeepSeekDigits, DeepSeekCjk, DeepSeekWords] => PreTokenizerKind.DeepSeekV3,
            _ => throw new TokenizerException($"{source}: split pattern {string.Join(" then ", patterns)} is not one Sovra reproduces (qwen2, llama-bpe, deepseek-v3, o200k)"),
        };
    }

    private static (bool ByteLevel, bool StripLeadingSpace) ReadDecoder(JsonElement? d, string source)
    {
        if (d is not { ValueKind: JsonValueKind.Object } dec) return (false, false);
        switch (Str(dec, "type"))
        {
            case "ByteLevel": return (true, false);
            case "Metaspace":
                if (Str(dec, "replacement") != "▁") throw new TokenizerException($"{source}: Metaspace decoder with another replacement");
                return (false, Str(dec, "prepend_scheme") is "always" or "first" || Bool(dec, "add_prefix_space"));
            case "Sequence":
                bool strip = false, replace = false;
                foreach (var x in dec.GetProperty("decoders").EnumerateArray())
                {
                    switch (Str(x, "type"))
                    {
                        case "Replace" when Prop(x, "pattern") is { } p && Str(p, "String") == "▁" && Str(x, "content") == " ":
                            replace = true; break;
                        case "ByteFallback" or "Fuse": break;
                        case "Strip" when Str(x, "content") == " " && Prop(x, "start")?.GetInt32() == 1 && Prop(x, "stop")?.GetInt32() == 0:
                            strip = true; break;
                        case var t: throw new TokenizerException($"{source}: decoder '{t}' is not supported");
                    }
                }
                if (!replace) throw new TokenizerException($"{source}: a SentencePiece decoder must replace ▁ with a space");
                return (false, strip);
            case var other: throw new TokenizerException($"{source}: decoder '{other}' is not supported");
        }
    }

    private static (int[] Prefix, int[] Suffix) ReadPostProcessor(JsonElement? p, string source)
    {
        if (p is not { ValueKind: JsonValueKind.Object } post) return ([], []);
        switch (Str(post, "type"))
        {
            case "ByteLevel": return ([], []);
            case "Sequence":
                int[] pre = [], suf = [];
                foreach (var x in post.GetProperty("processors").EnumerateArray())
                {
                    var (a, b) = ReadPostProcessor(x, source);
                    pre = [.. pre, .. a];
                    suf = [.. suf, .. b];
                }
                return (pre, suf);
            case "TemplateProcessing":
                var special = post.GetProperty("special_tokens");
                var prefix = new List<int>();
                var suffix = new List<int>();
                bool seenSequence = false;
                foreach (var item in post.GetProperty("single").EnumerateArray())
                {
                    if (Prop(item, "Sequence") != null) { seenSequence = true; continue; }
                    var name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    var ids = special.GetProperty(name).GetProperty("ids").EnumerateArray().Select(e => e.GetInt32());
                    (seenSequence ? suffix : prefix).AddRange(ids);
                }
                return (prefix.ToArray(), suffix.ToArray());
            case var t: throw new TokenizerException($"{source}: post-processor '{t}' is not supported");
        }
    }

    private static string? ConfigToken(JsonElement? config, string key)
    {
        if (config is not { } c || Prop(c, key) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => Str(v, "content"),
            _ => null,
        };
    }

    private static JsonElement? Prop(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static string? Str(JsonElement e, string name) => Prop(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name) => Prop(e, name) is { } v && v.ValueKind == JsonValueKind.True;
}
