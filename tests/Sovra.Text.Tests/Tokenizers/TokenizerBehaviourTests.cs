using System.Text;
using Sovra.TestSupport;
using Sovra.Text.Tokenizers;
using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tests.Tokenizers;

public class TokenizerBehaviourTests
{
    [Fact]
    public void Own_nfc_matches_icu_on_udhr_and_hard_cases_in_both_composed_and_decomposed_form()
    {
        var texts = Udhr.Declarations.Select(d => d.Text).Concat(HardCases.All)
            .Where(t => !t.Any(char.IsSurrogate) || t.EnumerateRunes().All(r => r.Value != 0xFFFD)).ToList();
        texts = texts.Where(t => IsWellFormed(t)).ToList();
        var stdin = string.Join("\n", texts.Select(t => Convert.ToBase64String(Encoding.Unicode.GetBytes(t)))) + "\n";
        var r = ExternalProcess.Node(Path.Combine(RepoPaths.Reference, "scripts", "tok-normalize.js"), [], stdin);
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(texts.Count, lines.Length);
        int changed = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            var parts = lines[i].Split(' ');
            var nfc = Encoding.Unicode.GetString(Convert.FromBase64String(parts[0]));
            var nfd = Encoding.Unicode.GetString(Convert.FromBase64String(parts[1]));
            Assert.Equal(nfc, Nfc.Normalize(texts[i]));
            Assert.Equal(nfc, Nfc.Normalize(nfd));
            if (nfd != nfc) changed++;
        }
        Assert.True(changed > 100, $"only {changed} texts differ between NFC and NFD");
    }

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (!char.IsSurrogate(s[i])) continue;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            return false;
        }
        return true;
    }

    [Fact]
    public void Special_token_text_is_plain_text_unless_allowed_but_non_special_added_tokens_always_match()
    {
        var qwen = ReferenceTokenizers.Sovra("qwen3");
        int imStart = qwen.TokenId("<|im_start|>")!.Value;
        int think = qwen.TokenId("<think>")!.Value;
        Assert.True(qwen.IsSpecial(imStart));
        Assert.False(qwen.IsSpecial(think));

        Assert.Equal([imStart], qwen.Encode("<|im_start|>", allowSpecial: true));
        var plain = qwen.Encode("<|im_start|>");
        Assert.True(plain.Length > 1);
        Assert.DoesNotContain(plain, qwen.IsSpecial);
        Assert.Equal("<|im_start|>", qwen.Decode(plain));
        Assert.Equal([think], qwen.Encode("<think>"));
        Assert.Equal(qwen.TokenId("<|im_end|>"), qwen.EosId);
        Assert.Contains(qwen.EosId!.Value, qwen.EndOfGenerationIds);
    }

    [Fact]
    public void Lone_surrogates_encode_as_the_replacement_character()
    {
        foreach (var name in new[] { "qwen3", "gemma3" })
        {
            var tok = ReferenceTokenizers.Sovra(name);
            Assert.Equal(tok.Encode("a\uFFFDb\uFFFD"), tok.Encode("a\uD800b\uDC00"));
        }
    }

    [Fact]
    public void Streaming_decoder_holds_a_character_split_across_tokens_and_replaces_an_impossible_one()
    {
        var qwen = ReferenceTokenizers.Sovra("qwen3");
        var ids = qwen.Encode("ﷺ𒀀😀 ok"); // rare characters are several byte-level tokens each
        Assert.True(ids.Length > 4);
        var s = qwen.CreateStreamingDecoder();
        var pieces = ids.Select(s.Push).ToList();
        pieces.Add(s.Flush());
        Assert.Contains("", pieces);
        Assert.Equal("ﷺ𒀀😀 ok", string.Concat(pieces));

        // Byte 0xF0 starts a four-byte sequence; "a" cannot continue it.
        int f0 = qwen.TokenId("ð")!.Value, a = qwen.TokenId("a")!.Value;
        s = qwen.CreateStreamingDecoder();
        Assert.Equal("", s.Push(f0));
        Assert.Equal("\uFFFDa", s.Push(a));
        Assert.Equal("\uFFFDa", qwen.Decode([f0, a]));
        Assert.Equal("", s.Push(f0));
        Assert.Equal("\uFFFD", s.Flush());
    }

    [Fact]
    public void Gemma_byte_fallback_decodes_runs_and_streams_whole_characters()
    {
        var gemma = ReferenceTokenizers.Sovra("gemma3");
        int[] bytes = [.. "😀"u8.ToArray().Select(b => gemma.TokenId($"<0x{b:X2}>")!.Value)];
        Assert.Equal("😀", gemma.Decode(bytes));
        var s = gemma.CreateStreamingDecoder();
        Assert.Equal(["", "", "", "😀"], bytes.Select(s.Push).ToArray());
        // An incomplete run followed by a piece: HF replaces each byte of the run.
        int x = gemma.TokenId("x")!.Value;
        Assert.Equal("\uFFFD\uFFFDx", gemma.Decode([bytes[0], bytes[1], x]));
        s = gemma.CreateStreamingDecoder();
        Assert.Equal("\uFFFD\uFFFDx", string.Concat(new[] { bytes[0], bytes[1], x }.Select(s.Push)));
        Assert.Equal("", s.Push(bytes[0]));
        Assert.Equal("\uFFFD", s.Flush());
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        var qwen = ReferenceTokenizers.Sovra("qwen3");
        Assert.Throws<TokenizerException>(() => qwen.Decode([1, qwen.VocabSize]));
        Assert.Throws<TokenizerException>(() => qwen.Decode([-1]));
        Assert.Throws<TokenizerException>(() => qwen.CreateStreamingDecoder().Push(int.MaxValue));
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[]", "no 'model'")]
    [InlineData("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "WordPiece")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0}}}", "used twice")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":2}}}", "no token with id 1")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]},\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"▁\"},\"content\":\" \"}]}}", "merge 0")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{}},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"},\"behavior\":\"Isolated\"}}", "split pattern")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{}},\"normalizer\":{\"type\":\"NFKC\"}}", "NFKC")]
    public void Malformed_or_unsupported_tokenizer_json_is_a_named_error(string json, string expected)
    {
        var e = Assert.Throws<TokenizerException>(() =>
        {
            var data = TokenizerJsonLoader.Parse(Encoding.UTF8.GetBytes(json));
            _ = new Tokenizer(data);
        });
        Assert.Contains(expected, e.Message);
    }
}
