using System.Text.Json;
using Sovra.Engine.Synthetic;
using Sovra.Gguf;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

public class SynthCommandTests
{
    private static readonly string Dir = RepoPaths.Scratch(nameof(SynthCommandTests));

    internal static ExternalProcess.Result Sovra(params string[] args) =>
        ExternalProcess.Run(Path.Combine(RepoPaths.Root, "sovra"), args, timeout: TimeSpan.FromMinutes(5));

    internal static JsonElement Llama(string path, int generate)
    {
        var script = Path.Combine(RepoPaths.Reference, "scripts", "llama-gguf.mjs");
        var r = ExternalProcess.Node(script, [path, "--generate", generate.ToString(), "--prompt", "Hello world"], timeout: TimeSpan.FromMinutes(3));
        var line = r.Stdout.Trim().Split('\n').LastOrDefault() ?? "";
        Assert.True(line.StartsWith('{'), $"node printed no result (exit {r.ExitCode}): {r.Stdout} {r.Stderr}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    [Fact]
    public void Same_seed_gives_a_byte_identical_file_and_another_seed_another_file()
    {
        string a = Path.Combine(Dir, "a.gguf"), b = Path.Combine(Dir, "b.gguf"), c = Path.Combine(Dir, "c.gguf");
        foreach (var (path, seed) in new[] { (a, "7"), (b, "7"), (c, "8") })
            Assert.Equal(0, Sovra("synth", "--preset", "qwen2-tiny", "--type", "F16", "--seed", seed, "-o", path).ExitCode);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
    }

    [Theory]
    [InlineData("qwen3-tiny", "Q8_0", "qwen3")]
    [InlineData("qwen3moe-tiny", "F16", "qwen3moe")]
    [InlineData("qwen2-tiny", "F32", "qwen2")]
    [InlineData("llama-tiny", "Q8_0", "llama")]
    public void Synthetic_files_load_and_generate_in_llama_cpp_with_the_real_Qwen3_tokenizer(string preset, string type, string arch)
    {
        var path = Path.Combine(Dir, $"{preset}-{type}.gguf");
        var r = Sovra("synth", "-p", preset, "-t", type, "-o", path, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var llama = Llama(path, generate: 4);
        Assert.True(llama.GetProperty("ok").GetBoolean(), llama.ToString());
        Assert.Equal(arch, llama.GetProperty("architecture").GetString());
        Assert.Equal(4, llama.GetProperty("generated").GetArrayLength());
        Assert.Equal("bpe", llama.GetProperty("vocabularyType").GetString());
        // Hugging Face's Qwen3 tokenizer encodes "Hello world" as [9707, 1879]; llama.cpp must read our vocabulary the same.
        Assert.Equal([9707, 1879], llama.GetProperty("promptTokens").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(151643, llama.GetProperty("bos").GetInt32());
        Assert.Equal(151645, llama.GetProperty("eos").GetInt32());
        File.Delete(path);
    }

    [Fact]
    public void Qwen3_0_6b_has_the_published_parameter_counts()
    {
        // Qwen3-0.6B model card: 0.6 B parameters, 0.44 B of them non-embedding.
        var m = SyntheticModel.Create(ModelShape.Get("qwen3-0.6b"), TensorTypePolicy.Parse("Q8_0"));
        var embedding = 151936L * 1024;
        Assert.InRange(m.ParameterCount - embedding, 0.435e9, 0.445e9);
        Assert.InRange(m.ParameterCount, 0.59e9, 0.61e9);
        Assert.Null(m.Tensors.FirstOrDefault(t => t.Spec.Name == "output.weight"));
        Assert.Equal(28, m.Tensors.Count(t => t.Spec.Name.EndsWith("attn_q_norm.weight")));
        Assert.All(m.Tensors.Where(t => t.Spec.Dims.Length == 1), t => Assert.Equal(GgmlType.F32, t.Type));
    }

    [Fact]
    public void Qwen3moe_with_48_layers_has_the_published_Qwen3_30B_A3B_counts()
    {
        // Qwen3-30B-A3B model card: 30.5 B parameters, 3.3 B activated, 29.9 B non-embedding.
        var m = SyntheticModel.Create(ModelShape.Get("qwen3moe") with { Layers = 48 }, TensorTypePolicy.Parse("F16"));
        Assert.InRange(m.ParameterCount, 30.3e9, 30.7e9);
        Assert.InRange(m.ParameterCount - 2 * 151936L * 2048, 29.7e9, 30.1e9);
        var experts = m.Tensors.Where(t => t.Spec.Name.Contains("_exps.")).Sum(t => t.Spec.Elements);
        Assert.InRange(m.ParameterCount - experts + experts * 8 / 128, 3.2e9, 3.4e9);
        var gateExps = m.Tensors.First(t => t.Spec.Name == "blk.0.ffn_gate_exps.weight");
        Assert.Equal(new long[] { 2048, 768, 128 }, gateExps.Spec.Dims);
        Assert.Equal(new long[] { 768, 2048, 128 }, m.Tensors.First(t => t.Spec.Name == "blk.0.ffn_down_exps.weight").Spec.Dims);
        Assert.Equal(GgmlType.F32, m.Tensors.First(t => t.Spec.Name == "blk.0.ffn_gate_inp.weight").Type);
    }

    [Fact]
    public void The_Q4_K_M_policy_follows_llama_cpp_rules_for_Qwen3_0_6b()
    {
        var shape = ModelShape.Get("qwen3-0.6b");
        var policy = TensorTypePolicy.Parse("Q4_K_M");
        var specs = TensorSpec.For(shape, 151936);
        GgmlType T(string name) => policy.Choose(specs.First(s => s.Name == name), shape);
        // llama-quant.cpp: use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2; for n = 28: these layers.
        int[] moreBits = [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27];
        for (var i = 0; i < 28; i++)
        {
            var expected = moreBits.Contains(i) ? GgmlType.Q6_K : GgmlType.Q4_K;
            Assert.Equal(expected, T($"blk.{i}.attn_v.weight"));
            Assert.Equal(expected, T($"blk.{i}.ffn_down.weight"));
            Assert.Equal(GgmlType.Q4_K, T($"blk.{i}.attn_q.weight"));
            Assert.Equal(GgmlType.F32, T($"blk.{i}.attn_norm.weight"));
        }
        Assert.Equal(GgmlType.Q6_K, T("token_embd.weight")); // tied: quantized like the output matrix
        // Row length 64 is not a whole number of 256-blocks: Q4_K falls back to Q5_0, Q6_K to Q8_0, as llama.cpp does.
        var tiny = ModelShape.Get("qwen3-tiny");
        var tinySpecs = TensorSpec.For(tiny, 151669);
        Assert.Equal(GgmlType.Q5_0, policy.Choose(tinySpecs.First(s => s.Name == "blk.0.attn_q.weight"), tiny));
        Assert.Equal(GgmlType.Q8_0, policy.Choose(tinySpecs.First(s => s.Name == "token_embd.weight"), tiny));
    }

    [Fact]
    public void Bad_arguments_exit_with_one_line()
    {
        var r = Sovra("synth", "--preset", "no-such", "-o", Path.Combine(Dir, "x.gguf"));
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("qwen3-tiny", r.Stderr);
        r = Sovra("synth", "--preset", "qwen3-tiny", "--type", "Q9_9", "-o", Path.Combine(Dir, "x.gguf"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Q9_9", r.Stderr);
    }
}
