using Sovra.Text.Tokenizers;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>
/// Token ids identical to Hugging Face's tokenizers, with no tolerance, on every UDHR declaration and on the
/// hard cases — with special-token text as special tokens (HF's encode) and as plain text (the default) —
/// and decoding identical to HF's decode of the same ids. One class per tokenizer so they run in parallel.
/// </summary>
public abstract class ParityTests(string name)
{
    [Fact]
    public void Encode_and_decode_match_hugging_face()
    {
        var tok = ReferenceTokenizers.Sovra(name);
        var requests = new List<ReferenceTokenizers.Request>();
        foreach (var (_, text) in Udhr.Declarations) requests.Add(new(text, Special: true, Add: false));
        foreach (var text in HardCases.All)
        {
            requests.Add(new(text, Special: true, Add: false));
            requests.Add(new(text, Special: false, Add: false));
        }
        foreach (var text in HardCases.WithSpecialTokensAdded) requests.Add(new(text, Special: true, Add: true));
        Assert.True(Udhr.Declarations.Count > 500, "expected the 500+ UDHR declarations");

        var answers = ReferenceTokenizers.Hf(name, requests);
        var failures = new List<string>();
        for (int i = 0; i < requests.Count && failures.Count < 8; i++)
        {
            var r = requests[i];
            var want = answers[i];
            var got = tok.Encode(r.Text, allowSpecial: r.Special, addSpecialTokens: r.Add);
            if (!got.AsSpan().SequenceEqual(want.Ids))
            {
                failures.Add(Describe(r, got, want.Ids));
                continue;
            }
            var dec = tok.Decode(got);
            if (dec != want.Decoded) failures.Add($"decode of {Snip(r.Text)}: got {Snip(dec)}, want {Snip(want.Decoded)}");
            var skip = tok.Decode(got, skipSpecial: true);
            if (skip != want.DecodedSkippingSpecial) failures.Add($"decode(skip special) of {Snip(r.Text)}: got {Snip(skip)}, want {Snip(want.DecodedSkippingSpecial)}");
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} mismatches:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Streaming_decode_of_every_declaration_equals_whole_decode_and_never_splits_a_character()
    {
        var tok = ReferenceTokenizers.Sovra(name);
        foreach (var (code, text) in Udhr.Declarations.Where((_, i) => i % 4 == 0))
        {
            var ids = tok.Encode(text);
            var stream = tok.CreateStreamingDecoder();
            var sb = new System.Text.StringBuilder();
            foreach (var id in ids)
            {
                var piece = stream.Push(id);
                for (int k = 0; k < piece.Length; k++)
                    if (char.IsHighSurrogate(piece[k]) ? k + 1 >= piece.Length || !char.IsLowSurrogate(piece[++k]) : char.IsLowSurrogate(piece[k]))
                        Assert.Fail($"{name} {code}: streamed piece splits a surrogate pair");
                Assert.DoesNotContain('\uFFFD', piece);
                sb.Append(piece);
            }
            sb.Append(stream.Flush());
            Assert.Equal(tok.Decode(ids), sb.ToString());
        }
    }

    private static string Describe(ReferenceTokenizers.Request r, int[] got, int[] want)
    {
        int at = 0;
        while (at < got.Length && at < want.Length && got[at] == want[at]) at++;
        string Around(int[] a) => "[" + string.Join(",", a.Skip(Math.Max(0, at - 2)).Take(8)) + "]";
        return $"{(r.Special ? "special" : "plain")}{(r.Add ? "+add" : "")} {Snip(r.Text)}: first difference at {at} " +
               $"(got {got.Length} ids {Around(got)}, want {want.Length} ids {Around(want)})";
    }

    private static string Snip(string s)
    {
        var t = s.Length > 60 ? s[..60] + "…" : s;
        return System.Text.Json.JsonSerializer.Serialize(t);
    }
}

public sealed class Qwen3Parity() : ParityTests("qwen3");
public sealed class DeepSeekV3Parity() : ParityTests("deepseek_v3");
public sealed class Llama3Parity() : ParityTests("llama3");
public sealed class Gemma3Parity() : ParityTests("gemma3");
public sealed class GptOssParity() : ParityTests("gptoss");
