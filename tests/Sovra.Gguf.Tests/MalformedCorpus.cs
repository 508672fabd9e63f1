namespace Sovra.Gguf.Tests;

/// <summary>
/// The enumerated malformed files: every case of llama.cpp's tests/test-gguf.cpp (HANDCRAFTED_*), the input classes
/// of the published GGUF parser CVEs (llama.cpp TALOS-2024-1912..1916, Ollama CVE-2024-39720 / CVE-2025-0312 /
/// CVE-2025-0315, llama.cpp CVE-2025-49847), and wrong types for well-known keys. Each names the field and byte
/// offset the error must report.
/// </summary>
internal static class MalformedCorpus
{
    public sealed record Case(string Name, byte[] Bytes, string Field, long Offset);

    private const uint F32 = (uint)GgmlType.F32, Q8 = (uint)GgmlType.Q8_0, I8 = (uint)GgmlType.I8, I64 = (uint)GgmlType.I64;

    public static readonly IReadOnlyDictionary<string, Case> All = Build().ToDictionary(c => c.Name);

    public static IEnumerable<object[]> Names => All.Keys.Select(k => new object[] { k });

    private static RawGguf H(ulong tensors, ulong kvs, uint version = 3) => new RawGguf().Header(tensors, kvs, version);

    /// <summary>A valid file: 3 keys, tensors t0 (F32 [32,2], 256 bytes) and t1 (Q8_0 [32], 34 bytes), aligned data.</summary>
    public static RawGguf Valid(Action<RawGguf>? beforeTensors = null, ulong extraKvs = 0)
    {
        var r = H(2, 3 + extraKvs).Mark("kv0").KvStr("general.architecture", "llama").Mark("kv1").KvU32("general.alignment", 32)
            .Mark("kv2").Str("t.arr").U32((uint)GgufValueType.Array).U32((uint)GgufValueType.String).U64(2).Str("a").Str("bc");
        beforeTensors?.Invoke(r);
        return r.Mark("t0").Tensor("t0", [32, 2], F32, 0).Mark("t1").Tensor("t1", [32], Q8, 256).Mark("end").PadTo(32).Mark("data").Zeros(256 + 34);
    }

    private static IEnumerable<Case> Build()
    {
        Case C(string name, RawGguf r, string field, long offset) => new(name, r.ToArray(), field, offset);
        Case CB(string name, byte[] b, string field, long offset) => new(name, b, field, offset);

        // --- header (test-gguf.cpp HANDCRAFTED_HEADER_*) ---
        yield return C("HEADER_BAD_MAGIC", new RawGguf().Bytes("FUGG"u8).U32(3).U64(0).U64(0), "header.magic", 0);
        yield return C("HEADER_BAD_VERSION_0", H(0, 0, 0), "header.version", 4);
        yield return C("HEADER_BAD_VERSION_1", H(0, 0, 1), "header.version", 4);
        yield return C("HEADER_BAD_VERSION_FUTURE", H(0, 0, 4), "header.version", 4);
        yield return C("header big-endian version", H(0, 0, 0x03000000), "header.version", 4);
        yield return C("HEADER_BAD_N_TENSORS (2^64-1)", H(ulong.MaxValue, 0), "header.tensor_count", 8);
        yield return C("HEADER_BAD_N_KV (2^64-1)", H(0, ulong.MaxValue), "header.kv_count", 16);
        yield return C("CVE class: tensor count whose allocation overflows (2^61)", H(1UL << 61, 0), "header.tensor_count", 8);
        yield return C("CVE class: kv count far beyond the file (2^33)", H(0, 1UL << 33).Zeros(64), "header.kv_count", 16);
        yield return C("counts that fit alone but not together", H(1, 3).Zeros(60), "header.kv_count", 16);
        yield return CB("empty file", [], "header", 0);
        yield return CB("CVE-2024-39720 class: a 4-byte file", "GGUF"u8.ToArray(), "header", 0);
        yield return CB("header cut at 23 bytes", H(0, 0).ToArray()[..23], "header", 0);

        // --- metadata (HANDCRAFTED_KV_*) ---
        yield return C("KV_BAD_KEY_SIZE (2^64-1)", H(0, 1).U64(ulong.MaxValue).Zeros(16), "metadata[0].key", 24);
        yield return C("key length past the end of the file", H(0, 1).U64(1000).Zeros(16), "metadata[0].key", 24);
        yield return C("KV_EMPTY_KEY", H(0, 1).Str("").U32(4).U32(1), "metadata[0].key", 24);
        yield return C("key that is not UTF-8", H(0, 1).U64(2).U8(0xC3).U8(0x28).U32(4).U32(1), "metadata[0].key", 32);
        yield return C("KV_BAD_TYPE (13)", H(0, 1).Str("k").U32(13).U32(0), "k", 33);
        yield return C("value type 2^32-1", H(0, 1).Str("k").U32(uint.MaxValue).U32(0), "k", 33);
        yield return C("array element type 13", H(0, 1).Str("k").U32(9).U32(13).U64(1).U32(0), "k", 37);
        {
            var r = H(0, 2).KvU32("dup", 1).Mark("second").KvU32("dup", 2);
            yield return C("KV_DUPLICATE_KEY", r, "dup", r.At("second"));
        }
        yield return C("KV_BAD_ALIGN (13)", H(0, 1).KvU32("general.alignment", 13), "general.alignment", 24 + 8 + 17);
        yield return C("alignment 0", H(0, 1).KvU32("general.alignment", 0), "general.alignment", 49);
        yield return C("alignment 2^31", H(0, 1).KvU32("general.alignment", 1u << 31), "general.alignment", 49);
        yield return C("KV_WRONG_TYPE_ALIGN (int32)", H(0, 1).Str("general.alignment").U32(5).I32(32), "general.alignment", 49);
        yield return C("string value length past the end", H(0, 1).Str("k").U32(8).U64(100).Zeros(8), "k", 37);
        yield return C("CVE class: string value length 2^64-1", H(0, 1).Str("k").U32(8).U64(ulong.MaxValue).Zeros(8), "k", 37);
        yield return C("CVE class: array count 2^64-1", H(0, 1).Str("k").U32(9).U32(4).U64(ulong.MaxValue).Zeros(8), "k", 41);
        yield return C("CVE-2025-0315 class: array count beyond the file (2^25 uint32)", H(0, 1).Str("k").U32(9).U32(4).U64(1UL << 25).Zeros(64), "k", 41);
        {
            // Two arrays each under the per-array cap, together over the 2^24 total: 1-byte elements, so the file is 16 MiB.
            var r = H(0, 2).Str("a").U32(9).U32(0).U64(1UL << 23).Zeros(1 << 23).Mark("b").Str("b").U32(9).U32(0).U64((1UL << 23) + 1);
            var bAt = r.At("b") + 8 + 1 + 4 + 4;
            yield return C("CVE class: metadata arrays over the total element budget", r.Zeros((1 << 23) + 1), "b", bAt);
        }
        yield return C("array count over the element cap (2^27)", H(0, 1).Str("k").U32(9).U32(0).U64(1UL << 27).Zeros(64), "k", 41);
        yield return C("CVE class: string array whose element runs past the end",
            H(0, 1).Str("k").U32(9).U32(8).U64(2).Str("ok").U64(50).Zeros(8), "k[1]", 59);
        yield return C("CVE-2025-49847 class: token longer than 64 MiB",
            H(0, 1).Str("tokenizer.ggml.tokens").U32(9).U32(8).U64(1).U64((1UL << 31) + 1).Zeros(16), "tokenizer.ggml.tokens[0]", 69);
        {
            var r = H(0, 1).Str("k").U32(9);
            for (var i = 0; i < 9; i++) r.U32(9).U64(1);
            r.U32(4).U64(1).U32(7);
            yield return C("arrays nested 9 deep", r.Zeros(8), "k[0][0][0][0][0][0][0]", 37 + 12 * 7);
        }
        yield return C("truncated uint32 value", H(0, 1).Str("k").U32(4).U8(1).U8(2), "k", 37);
        yield return C("truncated array of float32", H(0, 1).Str("k").U32(9).U32(6).U64(3).F32(1).F32(2).U8(0), "k", 41);

        // --- tensor infos (HANDCRAFTED_TENSORS_*) ---
        RawGguf One(long[] dims, uint type = F32, ulong offset = 0, string name = "t") =>
            H(1, 0).Tensor(name, dims, type, offset).PadTo(32).Zeros(64);
        yield return C("TENSORS_BAD_NAME_SIZE (64 bytes)", One([32], name: new string('n', 64)), "tensors[0].name", 24);
        yield return C("tensor name length 2^64-1", H(1, 0).U64(ulong.MaxValue).Zeros(64), "tensors[0].name", 24);
        yield return C("empty tensor name", One([32], name: ""), "tensors[0].name", 24);
        yield return C("TENSORS_BAD_N_DIMS (5)", H(1, 0).Str("t").U32(5).Zeros(80), "tensors[0].n_dims", 33);
        yield return C("n_dims 0", H(1, 0).Str("t").U32(0).U32(F32).U64(0).Zeros(40), "tensors[0].n_dims", 33);
        yield return C("CVE class: n_dims 2^32-1", H(1, 0).Str("t").U32(uint.MaxValue).Zeros(80), "tensors[0].n_dims", 33);
        yield return C("TENSORS_BAD_SHAPE (-1)", One([-1]), "tensors[0].dims[0]", 37);
        yield return C("TENSORS_ZERO_DIM", One([32, 0]), "tensors[0].dims[1]", 45);
        yield return C("TENSORS_NE_TOO_BIG (4*INT32_MAX squared)", One([4L * int.MaxValue, 4L * int.MaxValue]), "tensors[0].dims[1]", 45);
        yield return C("CVE class: element count overflow over four dims", One([1L << 20, 1L << 20, 1L << 20, 1L << 20]), "tensors[0].dims[3]", 61);
        yield return C("TENSORS_NBYTES_TOO_BIG (I64, 2^61 elements)", One([1L << 61], I64), "tensors[0].type", 45);
        yield return C("TENSORS_BAD_TYPE (GGML_TYPE_COUNT 43)", One([32], 43), "tensors[0].type", 45);
        yield return C("removed type Q4_2 (4)", One([32], 4), "tensors[0].type", 45);
        yield return C("removed type Q4_0_4_4 (31)", One([32], 31), "tensors[0].type", 45);
        yield return C("row not a whole number of blocks (Q8_0, 33)", One([33], Q8), "tensors[0].dims[0]", 37);
        yield return C("TENSORS_BAD_OFFSET (2^64-1)", One([32], offset: ulong.MaxValue), "tensors[0].offset", 49);
        {
            var r = H(2, 0).Tensor("same", [32], F32, 0).Mark("second").Tensor("same", [32], F32, 128).PadTo(32).Zeros(256);
            yield return C("TENSORS_DUPLICATE_NAME", r, "tensors[1].name", r.At("second"));
        }
        {
            var r = H(2, 1).KvU32("general.alignment", 13).Tensor("a", [32], F32, 0).Tensor("b", [32], F32, 128).PadTo(13).Zeros(256);
            yield return C("TENSORS_BAD_ALIGN (13)", r, "general.alignment", 49);
        }
        {
            var r = H(2, 0).Tensor("a", [8], F32, 0).Mark("b").Tensor("b", [8], F32, 32 + 8).PadTo(32).Zeros(128);
            yield return C("TENSORS_INCONSISTENT_ALIGN (offset 40 with alignment 32)", r, "tensors[1].offset", r.At("b") + 8 + 1 + 4 + 8 + 4);
        }

        // --- data (HANDCRAFTED_DATA_*) ---
        {
            var ok = Valid().ToArray();
            var t1 = Valid().At("t1");
            yield return CB("DATA_NOT_ENOUGH_DATA (one byte short)", ok[..^1], "tensors[1].offset", t1 + 8 + 2 + 4 + 8 + 4);
        }
        {
            var r = H(2, 0).Tensor("a", [0x7FFFFFFFFFFFFFC0], I8, 0).Tensor("b", [0x7FFFFFFFFFFFFFC0], I8, 0x7FFFFFFFFFFFFFC0).PadTo(32).Zeros(32);
            yield return C("DATA_MEM_SIZE_OVERFLOW (two I8 tensors of 2^63-64)", r, "tensors[0].offset", 24 + 9 + 4 + 8 + 4);
        }
        yield return C("tensor offset beyond the file (2^40)", One([32], offset: 1UL << 40), "tensors[0].offset", 49);
        {
            var r = H(2, 0).Tensor("a", [64], F32, 0).Mark("b").Tensor("b", [32], F32, 128).PadTo(32).Zeros(512);
            yield return C("overlapping tensors", r, "tensors[1].offset", r.At("b") + 8 + 1 + 4 + 8 + 4);
        }
        yield return C("tensor with no data section at all", H(1, 0).Tensor("t", [32], F32, 0), "tensors[0].offset", 49);

        // --- well-known keys with wrong types or values ---
        RawGguf Kv(string key, Action<RawGguf> value) { var r = H(0, 2).KvStr("general.architecture", "qwen3").Mark("k").Str(key); value(r); return r; }
        long ValueAt(RawGguf r, string key) => r.At("k") + 8 + System.Text.Encoding.UTF8.GetByteCount(key);
        (string Key, Action<RawGguf> Value, string Why)[] wrong =
        [
            ("qwen3.block_count", v => v.U32(8).Str("28"), "string for a count"),
            ("qwen3.block_count", v => v.U32(4).U32(0), "zero layers"),
            ("qwen3.block_count", v => v.U32(4).U32(1u << 20), "a million layers"),
            ("qwen3.context_length", v => v.U32(6).F32(4096), "float for a count"),
            ("qwen3.embedding_length", v => v.U32(5).I32(-1024), "negative width"),
            ("qwen3.attention.head_count", v => v.U32(10).U64(1UL << 40), "uint64 out of range"),
            ("qwen3.attention.head_count_kv", v => v.U32(9).U32(8).U64(1).Str("8"), "array of strings for per-layer heads"),
            ("qwen3.rope.freq_base", v => v.U32(8).Str("1e6"), "string for a float"),
            ("qwen3.attention.layer_norm_rms_epsilon", v => v.U32(6).F32(float.NaN), "NaN epsilon"),
            ("qwen3.expert_count", v => v.U32(7).U8(1), "bool for a count"),
            ("general.architecture", v => v.U32(4).U32(3), "architecture as uint32"),
            ("tokenizer.ggml.tokens", v => v.U32(9).U32(5).U64(1).I32(7), "tokens as int32 array"),
            ("tokenizer.ggml.merges", v => v.U32(8).Str("a b"), "merges as one string"),
            ("tokenizer.ggml.token_type", v => v.U32(9).U32(8).U64(1).Str("1"), "token types as strings"),
            ("tokenizer.ggml.scores", v => v.U32(9).U32(4).U64(1).U32(0), "scores as uint32"),
            ("tokenizer.ggml.bos_token_id", v => v.U32(8).Str("<s>"), "token id as string"),
            ("tokenizer.ggml.eos_token_id", v => v.U32(5).I32(-1), "negative token id"),
            ("tokenizer.ggml.add_bos_token", v => v.U32(0).U8(1), "uint8 for a bool"),
            ("tokenizer.chat_template", v => v.U32(9).U32(8).U64(0), "template as array"),
            ("tokenizer.ggml.model", v => v.U32(4).U32(2), "tokenizer model as uint32"),
        ];
        foreach (var (key, value, why) in wrong)
        {
            var r = key == "general.architecture" ? H(0, 1).Mark("k").Str(key) : Kv(key, value);
            if (key == "general.architecture") value(r);
            var name = $"well-known key {key}: {why}";
            yield return C(name, r, key, ValueAt(r, key));
        }
        {
            var r = H(0, 3).KvStr("general.architecture", "qwen3moe").KvU32("qwen3moe.expert_count", 8).Mark("k").Str("qwen3moe.expert_used_count").U32(4).U32(9);
            yield return C("more experts used than exist", r, "qwen3moe.expert_used_count", ValueAt(r, "qwen3moe.expert_used_count"));
        }
        {
            var r = H(0, 2).Str("tokenizer.ggml.tokens").U32(9).U32(8).U64(2).Str("a").Str("b")
                .Mark("k").Str("tokenizer.ggml.token_type").U32(9).U32(5).U64(3).I32(1).I32(1).I32(1);
            yield return C("token_type count differs from tokens", r, "tokenizer.ggml.token_type", ValueAt(r, "tokenizer.ggml.token_type"));
        }
        {
            var r = H(0, 2).Str("tokenizer.ggml.tokens").U32(9).U32(8).U64(2).Str("a").Str("b")
                .Mark("k").Str("tokenizer.ggml.scores").U32(9).U32(6).U64(1).F32(0);
            yield return C("scores count differs from tokens", r, "tokenizer.ggml.scores", ValueAt(r, "tokenizer.ggml.scores"));
        }
    }
}
