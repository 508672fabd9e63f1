using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

/// <summary>The writer's files are real GGUF: llama.cpp (node-llama-cpp's prebuilt CPU build) loads them and generates.</summary>
public class LlamaCppLoadTests
{
    private static readonly string Script = Path.Combine(RepoPaths.Reference, "scripts", "llama-gguf.mjs");

    internal static JsonElement LoadInLlamaCpp(string path, int generate = 0)
    {
        var r = ExternalProcess.Node(Script, [path, "--generate", generate.ToString(), "--prompt", "the"], timeout: TimeSpan.FromMinutes(3));
        var line = r.Stdout.Trim().Split('\n').LastOrDefault() ?? "";
        Assert.True(line.StartsWith('{'), $"node printed no result (exit {r.ExitCode}): {r.Stdout} {r.Stderr}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    [Fact]
    public void A_tiny_llama_written_by_GgufWriter_loads_and_generates_in_llama_cpp()
    {
        var dir = RepoPaths.Scratch(nameof(A_tiny_llama_written_by_GgufWriter_loads_and_generates_in_llama_cpp));
        var path = Path.Combine(dir, "tiny-llama.gguf");
        TinyLlama.Build().WriteFile(path);
        using (var f = GgufFile.Open(path))
            Assert.Equal(TinyLlama.Vocab.Length, f.Model.VocabSize);

        var r = LoadInLlamaCpp(path, generate: 3);
        Assert.True(r.GetProperty("ok").GetBoolean(), r.ToString());
        Assert.Equal("llama", r.GetProperty("architecture").GetString());
        Assert.Equal(TinyLlama.Vocab.Length, r.GetProperty("tokenCount").GetInt32());
        Assert.Equal(TinyLlama.Embedding, r.GetProperty("embeddingVectorSize").GetInt32());
        Assert.Equal(128, r.GetProperty("trainContextSize").GetInt32());
        Assert.Equal(3, r.GetProperty("generated").GetArrayLength());
        // "the" pre-tokenizes to one word; our merges make "th" + "e" out of the bytes t, h, e.
        Assert.Equal([TinyLlama.IndexOf("th"), TinyLlama.IndexOf("e")], r.GetProperty("promptTokens").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void llama_cpp_refuses_a_truncated_file_so_the_check_above_can_fail()
    {
        var dir = RepoPaths.Scratch(nameof(llama_cpp_refuses_a_truncated_file_so_the_check_above_can_fail));
        var path = Path.Combine(dir, "cut.gguf");
        var bytes = TinyLlama.Build().ToArray();
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 100).ToArray());
        Assert.False(LoadInLlamaCpp(path).GetProperty("ok").GetBoolean());
        Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
    }
}

/// <summary>A one-layer llama with a byte-level vocabulary of 256 bytes, two merges and an end-of-text token; F32 weights.</summary>
internal static class TinyLlama
{
    public const int Embedding = 32;
    public static readonly string[] Vocab = [.. ByteLevelAlphabet(), "th", "he", "<|endoftext|>"];

    public static int IndexOf(string token) => Array.IndexOf(Vocab, token);

    public static GgufWriter Build()
    {
        const int ff = 64, heads = 4, kvHeads = 2, headDim = Embedding / heads;
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("general.name", "sovra-gguf-test-tiny-llama");
        w.Set("llama.block_count", 1u);
        w.Set("llama.context_length", 128u);
        w.Set("llama.embedding_length", (uint)Embedding);
        w.Set("llama.feed_forward_length", (uint)ff);
        w.Set("llama.attention.head_count", (uint)heads);
        w.Set("llama.attention.head_count_kv", (uint)kvHeads);
        w.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.Set("llama.rope.freq_base", 10000f);
        w.Set("llama.rope.dimension_count", (uint)headDim);
        w.Set("general.file_type", 0u);
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.pre", "default");
        w.Set("tokenizer.ggml.tokens", GgufValue.FromArray(Vocab));
        w.Set("tokenizer.ggml.token_type", GgufValue.FromArray(Vocab.Select(t => t == "<|endoftext|>" ? 3 : 1).ToArray()));
        w.Set("tokenizer.ggml.merges", GgufValue.FromArray(new[] { "t h", "h e" }));
        w.Set("tokenizer.ggml.bos_token_id", (uint)IndexOf("<|endoftext|>"));
        w.Set("tokenizer.ggml.eos_token_id", (uint)IndexOf("<|endoftext|>"));
        w.Set("tokenizer.ggml.add_bos_token", false);

        var seed = 1;
        void F32(string name, params long[] dims) => w.AddTensor(name, GgmlType.F32, dims, Floats(dims, seed++, norm: false));
        void Norm(string name) => w.AddTensor(name, GgmlType.F32, [Embedding], Floats([Embedding], seed++, norm: true));
        F32("token_embd.weight", Embedding, Vocab.Length);
        Norm("output_norm.weight");
        F32("output.weight", Embedding, Vocab.Length);
        Norm("blk.0.attn_norm.weight");
        F32("blk.0.attn_q.weight", Embedding, heads * headDim);
        F32("blk.0.attn_k.weight", Embedding, kvHeads * headDim);
        F32("blk.0.attn_v.weight", Embedding, kvHeads * headDim);
        F32("blk.0.attn_output.weight", heads * headDim, Embedding);
        Norm("blk.0.ffn_norm.weight");
        F32("blk.0.ffn_gate.weight", Embedding, ff);
        F32("blk.0.ffn_up.weight", Embedding, ff);
        F32("blk.0.ffn_down.weight", ff, Embedding);
        return w;
    }

    private static byte[] Floats(long[] dims, int seed, bool norm)
    {
        var n = (int)dims.Aggregate(1L, (a, b) => a * b);
        var bytes = new byte[n * 4];
        var state = (uint)seed * 2654435761u;
        for (var i = 0; i < n; i++)
        {
            state = state * 1664525u + 1013904223u;
            var u = (state >> 8) / (float)(1 << 24) - 0.5f; // [-0.5, 0.5)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), norm ? 1f + 0.1f * u : 0.1f * u);
        }
        return bytes;
    }

    /// <summary>GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest map to U+0100 onwards.</summary>
    private static IEnumerable<string> ByteLevelAlphabet()
    {
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            yield return printable ? ((char)b).ToString() : ((char)(256 + n++)).ToString();
        }
    }
}
