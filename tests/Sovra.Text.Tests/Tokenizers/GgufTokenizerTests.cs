using Sovra.Gguf;
using Sovra.TestSupport;
using Sovra.Text.Tokenizers;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>
/// GGUF tokenizer metadata, written with Sovra's GGUF writer from the tokenizer.json files (as
/// convert_hf_to_gguf.py lays it out), loads back to the same ids as the tokenizer.json — which the parity
/// tests hold to HF.
/// </summary>
public class GgufTokenizerTests
{
    private static readonly string Dir = RepoPaths.Scratch("gguf-tokenizer");

    private static string WriteGguf(string name, string model, string? pre, bool addSpacePrefix, Action<GgufWriter>? more = null)
    {
        var data = TokenizerJsonLoader.Load(ReferenceTokenizers.JsonPath(name));
        int n = Math.Max(data.Tokens.Length, data.AddedTokens.Max(a => a.Id) + 1);
        var tokens = new string[n];
        var types = new int[n];
        for (int i = 0; i < n; i++) { tokens[i] = i < data.Tokens.Length ? data.Tokens[i] : $"[PAD{i}]"; types[i] = i < data.Tokens.Length ? 1 : 5; }
        foreach (var a in data.AddedTokens) { tokens[a.Id] = a.Content; types[a.Id] = a.Special ? 3 : 4; }
        for (int i = 0; i < n; i++) if (tokens[i].Length == 6 && tokens[i].StartsWith("<0x") && model == "llama") types[i] = 6;
        var w = new GgufWriter();
        w.Set(WellKnownKeys.GeneralArchitecture, "test");
        w.Set(WellKnownKeys.TokenizerModel, model);
        if (pre != null) w.Set(WellKnownKeys.TokenizerPre, pre);
        w.Set(WellKnownKeys.TokenizerTokens, GgufValue.FromArray(tokens));
        w.Set(WellKnownKeys.TokenizerTokenType, GgufValue.FromArray(types));
        w.Set(WellKnownKeys.TokenizerMerges, GgufValue.FromArray(data.Merges.Select(m => m.Left + " " + m.Right).ToArray()));
        w.Set(WellKnownKeys.TokenizerAddBos, false);
        w.Set(WellKnownKeys.TokenizerAddSpacePrefix, addSpacePrefix);
        if (data.EosId is { } eos) w.Set(WellKnownKeys.TokenizerEos, (uint)eos);
        if (data.BosId is { } bos) w.Set(WellKnownKeys.TokenizerBos, (uint)bos);
        more?.Invoke(w);
        var path = Path.Combine(Dir, $"{name}-{model}-{pre}.gguf");
        w.WriteFile(path);
        return path;
    }

    [Theory]
    [InlineData("qwen3", "qwen2")]
    [InlineData("llama3", "llama-bpe")]
    [InlineData("deepseek_v3", "deepseek-v3")]
    [InlineData("gptoss", "gpt-4o")]
    public void Byte_level_gguf_gives_the_same_ids_as_the_tokenizer_json(string name, string pre)
    {
        var fromJson = ReferenceTokenizers.Sovra(name);
        var fromGguf = new Tokenizer(GgufTokenizerLoader.Load(WriteGguf(name, "gpt2", pre, addSpacePrefix: false)));
        Assert.Equal(fromJson.PreTokenizer, fromGguf.PreTokenizer);
        Assert.Equal(fromJson.EosId, fromGguf.EosId);
        foreach (var text in Texts())
        {
            Assert.Equal(fromJson.Encode(text, allowSpecial: true), fromGguf.Encode(text, allowSpecial: true));
            Assert.Equal(fromJson.Encode(text), fromGguf.Encode(text));
        }
    }

    [Fact]
    public void SentencePiece_gguf_with_merges_gives_the_same_ids_as_gemma_tokenizer_json()
    {
        var fromJson = ReferenceTokenizers.Sovra("gemma3");
        var fromGguf = new Tokenizer(GgufTokenizerLoader.Load(WriteGguf("gemma3", "llama", null, addSpacePrefix: false)));
        Assert.Equal(TokenizerModelKind.SentencePieceBpe, fromGguf.Model);
        foreach (var text in Texts())
        {
            var ids = fromJson.Encode(text, allowSpecial: true);
            Assert.Equal(ids, fromGguf.Encode(text, allowSpecial: true));
            Assert.Equal(fromJson.Decode(ids), fromGguf.Decode(ids));
        }
    }

    private static IEnumerable<string> Texts() =>
        HardCases.All.Concat(Udhr.Declarations.Where((_, i) => i % 25 == 0).Select(d => d.Text));

    [Fact]
    public void Unknown_pre_tokenizer_and_missing_tokenizer_are_named_errors()
    {
        var path = WriteGguf("qwen3", "gpt2", "falcon", addSpacePrefix: false);
        var e = Assert.Throws<TokenizerException>(() => GgufTokenizerLoader.Load(path));
        Assert.Contains("falcon", e.Message);

        var w = new GgufWriter();
        w.Set(WellKnownKeys.GeneralArchitecture, "test");
        var empty = Path.Combine(Dir, "no-tokenizer.gguf");
        w.WriteFile(empty);
        e = Assert.Throws<TokenizerException>(() => GgufTokenizerLoader.Load(empty));
        Assert.Contains("tokenizer.ggml.model", e.Message);
    }

    [Fact]
    public void Token_type_count_mismatch_is_a_named_error()
    {
        var w = new GgufWriter();
        w.Set(WellKnownKeys.GeneralArchitecture, "test");
        w.Set(WellKnownKeys.TokenizerModel, "gpt2");
        w.Set(WellKnownKeys.TokenizerTokens, GgufValue.FromArray(["a", "b"]));
        w.Set(WellKnownKeys.TokenizerTokenType, GgufValue.FromArray(new[] { 1 }));
        var path = Path.Combine(Dir, "bad-types.gguf");
        w.WriteFile(path);
        // The GGUF reader checks the array lengths of the well-known keys itself.
        var e = Assert.ThrowsAny<Exception>(() => GgufTokenizerLoader.Load(path));
        Assert.True(e is GgufFormatException or TokenizerException, e.GetType().Name);
        Assert.Contains("token_type", e.Message);
    }

    /// <summary>llama.cpp's SentencePiece merge order without merges: highest-scoring joined piece first.
    /// Expected ids worked out by hand from the scores.</summary>
    [Fact]
    public void SentencePiece_by_score_merges_the_best_scoring_pair_first_and_falls_back_to_bytes()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        var scores = new List<float> { 0, 0, 0 };
        for (int b = 0; b < 256; b++) { tokens.Add($"<0x{b:X2}>"); types.Add(6); scores.Add(0); }
        void Add(string t, float s) { tokens.Add(t); types.Add(1); scores.Add(s); }
        Add("▁", -1); Add("a", -1); Add("b", -1); Add("c", -1); // 259..262
        Add("ab", -3); Add("bc", -2); Add("▁a", -4); Add("abc", -5); // 263..266
        var w = new GgufWriter();
        w.Set(WellKnownKeys.GeneralArchitecture, "test");
        w.Set(WellKnownKeys.TokenizerModel, "llama");
        w.Set(WellKnownKeys.TokenizerTokens, GgufValue.FromArray(tokens.ToArray()));
        w.Set(WellKnownKeys.TokenizerTokenType, GgufValue.FromArray(types.ToArray()));
        w.Set(WellKnownKeys.TokenizerScores, GgufValue.FromArray(scores.ToArray()));
        w.Set(WellKnownKeys.TokenizerBos, 1u);
        w.Set(WellKnownKeys.TokenizerEos, 2u);
        var path = Path.Combine(Dir, "spm-scores.gguf");
        w.WriteFile(path);
        var tok = new Tokenizer(GgufTokenizerLoader.Load(path));

        // "abc" → ▁ a b c: bc (-2) beats ab (-3) and ▁a (-4); then ▁a (-4) beats a+bc = abc (-5); ▁abc is no piece.
        Assert.Equal([1, 265, 264], tok.Encode("abc", addSpecialTokens: true));
        // "ab x" → ▁ a b ▁ x: ab (-3) before ▁a (-4), so ▁ | ab | ▁ | <0x78>.
        Assert.Equal([259, 263, 259, 3 + 0x78], tok.Encode("ab x"));
        // Decoding drops the space that the prefix added.
        Assert.Equal("abc", tok.Decode([265, 264]));
        Assert.Equal("abc", tok.Decode([259, 266]));
        Assert.Equal("ab x", tok.Decode([259, 263, 259, 3 + 0x78]));
        Assert.Equal(1, tok.BosId);
        Assert.Equal([2], tok.EndOfGenerationIds);
    }
}
