using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

public class InspectCommandTests
{
    private static readonly string Dir = RepoPaths.Scratch(nameof(InspectCommandTests));
    private static readonly Lazy<string> Tiny = new(() =>
    {
        var path = Path.Combine(Dir, "tiny.gguf");
        var r = SynthCommandTests.Sovra("synth", "-p", "qwen3-tiny", "-t", "Q8_0", "-o", path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return path;
    });

    [Fact]
    public void Json_report_agrees_with_what_llama_cpp_reads()
    {
        var r = SynthCommandTests.Sovra("inspect", Tiny.Value, "--json", "--ctx", "1000");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var o = JsonDocument.Parse(r.Stdout).RootElement;
        var llama = SynthCommandTests.Llama(Tiny.Value, generate: 0);
        Assert.Equal(llama.GetProperty("architecture").GetString(), o.GetProperty("architecture").GetString());
        Assert.Equal(llama.GetProperty("tokenCount").GetInt32(), o.GetProperty("vocab_size").GetInt32());
        Assert.Equal(llama.GetProperty("trainContextSize").GetInt32(), o.GetProperty("context_length").GetInt32());
        Assert.Equal(new FileInfo(Tiny.Value).Length, o.GetProperty("file_bytes").GetInt64());
        // qwen3-tiny: tied 151669 x 64 embedding, 2 layers of q/k/v/o (64x64, 64x32, 64x32, 64x64), FFN 3 x 64x128,
        // norms: attn/ffn 64 each, q/k 16 each, output 64.
        long expected = 151669L * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64 + 2 * 16) + 64;
        Assert.Equal(expected, o.GetProperty("parameters").GetInt64());
        var types = o.GetProperty("tensors").GetProperty("types").EnumerateArray().ToDictionary(t => t.GetProperty("type").GetString()!);
        Assert.Equal(["F32", "Q8_0"], types.Keys.Order());
        Assert.Equal(9, types["F32"].GetProperty("count").GetInt32());
        Assert.Equal(o.GetProperty("tensors").GetProperty("count").GetInt32(), types.Values.Sum(t => t.GetProperty("count").GetInt32()));
        Assert.Equal("gpt2", o.GetProperty("tokenizer").GetProperty("model").GetString());
        Assert.Equal(151645, o.GetProperty("special_tokens").GetProperty("eos").GetProperty("id").GetInt32());
        Assert.Equal("<|im_end|>", o.GetProperty("special_tokens").GetProperty("eos").GetProperty("text").GetString());
        Assert.True(o.GetProperty("chat_template").GetBoolean());
        var mem = o.GetProperty("memory");
        Assert.Equal(1000, mem.GetProperty("context").GetInt64());
        Assert.Equal(2L * 1000 * 2 * (16 + 16) * 2, mem.GetProperty("kv_cache_bytes").GetInt64()); // layers x ctx x kv heads x (k+v) x F16
        Assert.Equal(mem.GetProperty("weights_bytes").GetInt64() + mem.GetProperty("kv_cache_bytes").GetInt64() + mem.GetProperty("overhead_bytes").GetInt64(),
            mem.GetProperty("total_bytes").GetInt64());
    }

    [Fact]
    public void Text_report_names_the_essentials()
    {
        var r = SynthCommandTests.Sovra("inspect", Tiny.Value);
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var s in new[] { "qwen3", "parameters", "Q8_0", "vocabulary 151669", "eos 151645 '<|im_end|>'", "chat template   present", "memory @ 4096" })
            Assert.Contains(s, r.Stdout);
    }

    [Fact]
    public void A_malformed_file_exits_non_zero_with_one_line_naming_the_field()
    {
        var bytes = File.ReadAllBytes(Tiny.Value);
        bytes[8] = 0xFF; bytes[9] = 0xFF; bytes[14] = 0xFF; // tensor count ~2^48
        var bad = Path.Combine(Dir, "bad.gguf");
        File.WriteAllBytes(bad, bytes);
        var r = SynthCommandTests.Sovra("inspect", bad);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("header.tensor_count", line);
        Assert.Contains("at byte 8", line);

        File.WriteAllBytes(bad, File.ReadAllBytes(Tiny.Value).AsSpan(0, 3000).ToArray()); // cut inside the vocabulary
        r = SynthCommandTests.Sovra("inspect", bad, "--json");
        Assert.Equal(1, r.ExitCode);
        line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("tokenizer.ggml.tokens", line);
        Assert.Contains("past the end of the file", line);

        r = SynthCommandTests.Sovra("inspect", Path.Combine(Dir, "missing.gguf"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no such file", r.Stderr);
    }
}
