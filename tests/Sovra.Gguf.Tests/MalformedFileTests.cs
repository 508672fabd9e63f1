using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

public class MalformedFileTests
{
    public static IEnumerable<object[]> Cases => MalformedCorpus.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_malformed_file_raises_the_typed_error_naming_field_and_offset(string name)
    {
        var c = MalformedCorpus.All[name];
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Parse(c.Bytes).Dispose());
        Assert.Equal(c.Field, e.Field);
        Assert.Equal(c.Offset, e.ByteOffset);
        Assert.Contains(c.Field, e.Message);
        Assert.Contains($"at byte {c.Offset}", e.Message);
    }

    [Fact]
    public void The_corpus_covers_every_handcrafted_failure_of_llama_cpp_test_gguf()
    {
        string[] handcrafted =
        [
            "HEADER_BAD_MAGIC", "HEADER_BAD_VERSION_0", "HEADER_BAD_VERSION_1", "HEADER_BAD_VERSION_FUTURE", "HEADER_BAD_N_TENSORS",
            "HEADER_BAD_N_KV", "KV_BAD_KEY_SIZE", "KV_EMPTY_KEY", "KV_BAD_TYPE", "KV_DUPLICATE_KEY", "KV_BAD_ALIGN", "KV_WRONG_TYPE_ALIGN",
            "TENSORS_BAD_NAME_SIZE", "TENSORS_BAD_N_DIMS", "TENSORS_BAD_SHAPE", "TENSORS_ZERO_DIM", "TENSORS_NE_TOO_BIG",
            "TENSORS_NBYTES_TOO_BIG", "TENSORS_BAD_TYPE", "TENSORS_BAD_OFFSET", "TENSORS_DUPLICATE_NAME", "TENSORS_BAD_ALIGN",
            "TENSORS_INCONSISTENT_ALIGN", "DATA_NOT_ENOUGH_DATA", "DATA_MEM_SIZE_OVERFLOW",
        ];
        foreach (var h in handcrafted)
            Assert.Contains(MalformedCorpus.All.Keys, k => k.StartsWith(h, StringComparison.Ordinal));
    }

    [Fact]
    public void The_valid_corpus_base_and_the_handcrafted_successes_parse()
    {
        using (var f = GgufFile.Parse(MalformedCorpus.Valid().ToArray()))
            Assert.Equal(2, f.Tensors.Count);
        // HEADER_EMPTY, KV_SUCCESS (a key of each type), TENSORS_CUSTOM_ALIGN / DATA_CUSTOM_ALIGN (alignment 1).
        using (var f = GgufFile.Parse(new RawGguf().Header(0, 0).ToArray())) Assert.Empty(f.Tensors);
        using (var f = GgufFile.Parse(TestModels.EveryValueType().ToArray())) Assert.Equal(27, f.Metadata.Count);
        using (var f = GgufFile.Parse(TestModels.EveryValueType(alignment: 1).ToArray())) Assert.Equal(1u, f.Alignment);
    }

    [Fact]
    public void Truncating_a_valid_file_anywhere_names_the_region_it_was_cut_in()
    {
        var full = MalformedCorpus.Valid();
        var bytes = full.ToArray();
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Parse(bytes.AsMemory(0, cut)).Dispose());
            string expected = cut switch
            {
                < 24 => "header",
                _ when cut < full.At("kv1") => "metadata[0].key|general.architecture|header.",
                _ when cut < full.At("kv2") => "metadata[1].key|general.alignment|header.",
                _ when cut < full.At("t0") => "metadata[2].key|t.arr|header.",
                _ when cut < full.At("end") => "tensors[|header.",
                _ => "tensors[1].offset|tensors[0].offset",
            };
            Assert.True(expected.Split('|').Any(p => e.Field.StartsWith(p, StringComparison.Ordinal)),
                $"cut at {cut}: field '{e.Field}' does not name the region ({expected})");
            Assert.InRange(e.ByteOffset, 0, bytes.Length);
        }
    }

    [Fact]
    public void A_file_on_disk_fails_the_same_way_as_the_buffer()
    {
        var dir = RepoPaths.Scratch(nameof(A_file_on_disk_fails_the_same_way_as_the_buffer));
        foreach (var c in MalformedCorpus.All.Values.Where((_, i) => i % 5 == 0))
        {
            var path = Path.Combine(dir, "bad.gguf");
            File.WriteAllBytes(path, c.Bytes);
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
            Assert.Equal((c.Name, c.Field, c.Offset), (c.Name, e.Field, e.ByteOffset));
        }
    }

    [Fact]
    public void Well_known_keys_with_right_types_read_through_the_model_view()
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "qwen3moe");
        w.Set("qwen3moe.block_count", 2u);
        w.Set("qwen3moe.context_length", 40960u);
        w.Set("qwen3moe.embedding_length", 2048u);
        w.Set("qwen3moe.attention.head_count", 32u);
        w.Set("qwen3moe.attention.head_count_kv", GgufValue.FromArray(new[] { 4, 2 }));
        w.Set("qwen3moe.attention.key_length", 128u);
        w.Set("qwen3moe.rope.freq_base", 1e6f);
        w.Set("qwen3moe.rope.scaling.type", "yarn");
        w.Set("qwen3moe.rope.scaling.factor", 4f);
        w.Set("qwen3moe.rope.scaling.original_context_length", 32768u);
        w.Set("qwen3moe.attention.layer_norm_rms_epsilon", 1e-6f);
        w.Set("qwen3moe.expert_count", 128u);
        w.Set("qwen3moe.expert_used_count", 8u);
        w.Set("qwen3moe.expert_feed_forward_length", 768u);
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.tokens", GgufValue.FromArray(new[] { "a", "b", "c" }));
        w.Set("tokenizer.ggml.token_type", GgufValue.FromArray(new[] { 1, 1, 3 }));
        w.Set("tokenizer.ggml.eos_token_id", 2u);
        w.Set("tokenizer.ggml.bos_token_id", 99u); // outside the vocabulary: llama.cpp ignores it, so do we
        w.Set("tokenizer.ggml.add_bos_token", false);
        w.Set("tokenizer.chat_template", "{{ messages }}");
        using var f = GgufFile.Parse(w.ToArray());
        var m = f.Model;
        Assert.Equal(("qwen3moe", 2u, 40960u, 2048u, 32u), (m.Architecture, m.BlockCount, m.ContextLength, m.EmbeddingLength, m.HeadCount));
        Assert.Equal(4u, m.HeadCountKv);
        Assert.Equal(new uint[] { 4, 2 }, m.HeadCountKvPerLayer);
        Assert.Equal((128u, 64u), (m.KeyLength, m.ValueLength)); // value length defaults to embedding / heads
        Assert.Equal((1e6f, "yarn", 4f, 32768u), (m.RopeFreqBase, m.RopeScalingType, m.RopeScalingFactor, m.RopeScalingOriginalContext));
        Assert.Equal(1e-6f, m.RmsEpsilon);
        Assert.True(m.IsMixtureOfExperts);
        Assert.Equal((128u, 8u, 768u), (m.ExpertCount, m.ExpertUsedCount, m.ExpertFeedForwardLength));
        Assert.Equal(3, m.VocabSize);
        Assert.Equal(2, m.EosTokenId);
        Assert.Null(m.BosTokenId);
        Assert.Equal(false, m.AddBosToken);
        Assert.Equal("{{ messages }}", m.ChatTemplate);
        Assert.Equal(new[] { 1, 1, 3 }, m.TokenTypes);
    }

    [Fact]
    public void A_file_without_an_architecture_opens_but_has_no_model_view()
    {
        using var f = GgufFile.Parse(new RawGguf().Header(0, 0).ToArray());
        var e = Assert.Throws<GgufFormatException>(() => f.Model);
        Assert.Equal("general.architecture", e.Field);
    }
}
