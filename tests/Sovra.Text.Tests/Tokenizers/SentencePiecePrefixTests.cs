using System.Text;
using Sovra.TestSupport;
using Sovra.Text.Tokenizers;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>
/// The Llama 2 family's SentencePiece layout — Prepend("▁") + Replace(" "→"▁") normalizers, no pre-tokenizer,
/// a decoder that strips the leading space — checked live against HF on Gemma 3's vocabulary set up that way
/// (no Llama 2 tokenizer.json ships in the reference packages).
/// </summary>
public class SentencePiecePrefixTests
{
    private const string Llama2Style = """
        {"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
         "pre_tokenizer":null,
         "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}}
        """;

    [Fact]
    public void The_llama2_normalizer_and_decoder_are_read_as_prefix_space_and_strip()
    {
        var json = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"▁\":0,\"a\":1}}," + Llama2Style.Trim()[1..];
        var data = TokenizerJsonLoader.Parse(Encoding.UTF8.GetBytes(json));
        Assert.True(data.AddPrefixSpace && data.ReplaceSpaces && data.DecodeStripsLeadingSpace);
        Assert.Equal(TokenizerModelKind.SentencePieceBpe, data.Model);
    }

    [Fact]
    public void Llama2_style_prefix_space_and_strip_match_hugging_face()
    {
        var gemma = TokenizerJsonLoader.Load(ReferenceTokenizers.JsonPath("gemma3"));
        var tok = new Tokenizer(new TokenizerData
        {
            Model = gemma.Model, Tokens = gemma.Tokens, Merges = gemma.Merges, AddedTokens = gemma.AddedTokens,
            ByteFallback = gemma.ByteFallback, FuseUnknown = gemma.FuseUnknown, UnknownId = gemma.UnknownId,
            Prefix = gemma.Prefix, BosId = gemma.BosId, EosId = gemma.EosId,
            ReplaceSpaces = true, AddPrefixSpace = true, DecodeStripsLeadingSpace = true,
        });
        var overrides = Path.Combine(RepoPaths.Scratch("sp-prefix"), "llama2-style.json");
        File.WriteAllText(overrides, Llama2Style);

        var requests = HardCases.All.SelectMany(t => new[] { new ReferenceTokenizers.Request(t, true, false), new ReferenceTokenizers.Request(t, true, true) }).ToList();
        var want = ReferenceTokenizers.HfFile(ReferenceTokenizers.JsonPath("gemma3"), requests, overrides);
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            var ids = tok.Encode(r.Text, r.Special, r.Add);
            Assert.True(want[i].Ids.AsSpan().SequenceEqual(ids), $"ids of {System.Text.Json.JsonSerializer.Serialize(r.Text)} (add {r.Add})");
            Assert.Equal(want[i].Decoded, tok.Decode(ids));
            Assert.Equal(want[i].DecodedSkippingSpecial, tok.Decode(ids, skipSpecial: true));
        }
    }
}
