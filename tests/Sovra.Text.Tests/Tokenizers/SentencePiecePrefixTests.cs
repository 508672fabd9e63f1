using System.Text.Json.Nodes;
using Sovra.TestSupport;
using Sovra.Text.Tokenizers;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>
/// The Llama 2 family's SentencePiece layout — Prepend("▁") + Replace(" "→"▁") normalizers, no pre-tokenizer,
/// a decoder that strips the leading space — checked live against HF on Gemma 3's vocabulary rewritten that way
/// (no Llama 2 tokenizer.json ships in the reference packages).
/// </summary>
public class SentencePiecePrefixTests
{
    [Fact]
    public void Llama2_style_prefix_space_and_strip_match_hugging_face()
    {
        var root = JsonNode.Parse(File.ReadAllText(ReferenceTokenizers.JsonPath("gemma3")))!;
        root["normalizer"] = JsonNode.Parse("""
            {"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}
            """);
        root["pre_tokenizer"] = null;
        root["decoder"] = JsonNode.Parse("""
            {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}
            """);
        var path = Path.Combine(RepoPaths.Scratch("sp-prefix"), "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());

        var tok = new Tokenizer(TokenizerJsonLoader.Load(path));
        var requests = HardCases.All.SelectMany(t => new[] { new ReferenceTokenizers.Request(t, true, false), new ReferenceTokenizers.Request(t, false, true) }).ToList();
        var want = ReferenceTokenizers.HfFile(path, requests);
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            var ids = tok.Encode(r.Text, r.Special, r.Add);
            Assert.True(want[i].Ids.AsSpan().SequenceEqual(ids), $"ids of {System.Text.Json.JsonSerializer.Serialize(r.Text)} ({r.Special}, {r.Add})");
            Assert.Equal(want[i].Decoded, tok.Decode(ids));
            Assert.Equal(want[i].DecodedSkippingSpecial, tok.Decode(ids, skipSpecial: true));
        }
    }
}
