using Sovra.Engine.Synthetic;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Tests;

/// <summary>
/// Small random-weight models written as real GGUF files that llama.cpp loads: a byte-level vocabulary of the
/// 256 bytes plus an end-of-text token, every matrix in one type, norms in F32.
/// </summary>
/// <remarks>
/// Random weights give flat next-token distributions whose top-1 is a near tie, which would make a top-1
/// comparison meaningless. The output head is scaled (<see cref="OutputLogitSd"/>) so logits spread over several
/// nats: the distributions are peaked but far from one-hot (the top token typically has 0.2–0.9 of the mass).
/// </remarks>
internal static class ParityModels
{
    public const int Vocab = 257;
    public const int Eot = 256;
    public const float OutputLogitSd = 6f;

    public sealed record Shape(int Embd = 256, int Layers = 2, int Heads = 4, int KvHeads = 2, int HeadDim = 64, int Ff = 512, int Ctx = 512);

    public static void Write(string path, string arch, GgmlType type, int seed = 7, Shape? shape = null, bool tied = false) =>
        Write(path, arch, GgmlTypeInfo.Of(type).Name, seed, shape, tied);

    /// <param name="types">A ggml type name or a llama.cpp mix (Q4_K_M, Q5_K_M): the synthetic generator's policy picks each matrix's type.</param>
    public static void Write(string path, string arch, string types, int seed = 7, Shape? shape = null, bool tied = false)
    {
        var s = shape ?? new Shape();
        var policy = TensorTypePolicy.Parse(types);
        var ms = new ModelShape("parity", arch, s.Layers, s.Embd, s.Heads, s.KvHeads, s.HeadDim, s.Ff, Vocab, tied,
            QkNorm: arch == "qwen3", QkvBias: arch == "qwen2", RopeTheta: 1e6f, ContextLength: s.Ctx, RmsEpsilon: 1e-6f);
        var r = new Random(seed);
        var w = new GgufWriter();
        w.Set("general.architecture", arch);
        w.Set("general.name", $"sovra-parity-{arch}-{types}");
        w.Set($"{arch}.block_count", (uint)s.Layers);
        w.Set($"{arch}.context_length", (uint)s.Ctx);
        w.Set($"{arch}.embedding_length", (uint)s.Embd);
        w.Set($"{arch}.feed_forward_length", (uint)s.Ff);
        w.Set($"{arch}.attention.head_count", (uint)s.Heads);
        w.Set($"{arch}.attention.head_count_kv", (uint)s.KvHeads);
        w.Set($"{arch}.attention.key_length", (uint)s.HeadDim);
        w.Set($"{arch}.attention.value_length", (uint)s.HeadDim);
        w.Set($"{arch}.attention.layer_norm_rms_epsilon", 1e-6f);
        w.Set($"{arch}.rope.freq_base", ms.RopeTheta);
        w.Set($"{arch}.rope.dimension_count", (uint)s.HeadDim);
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.pre", arch == "llama" ? "llama-bpe" : "qwen2");
        var tokens = ByteLevelAlphabet().Append("<|endoftext|>").ToArray();
        w.Set("tokenizer.ggml.tokens", GgufValue.FromArray(tokens));
        w.Set("tokenizer.ggml.token_type", GgufValue.FromArray(tokens.Select((_, i) => i == Eot ? 3 : 1).ToArray()));
        w.Set("tokenizer.ggml.merges", GgufValue.FromArray(Array.Empty<string>()));
        w.Set("tokenizer.ggml.eos_token_id", (uint)Eot);
        w.Set("tokenizer.ggml.bos_token_id", (uint)Eot);
        w.Set("tokenizer.ggml.add_bos_token", false);

        float[] rnd(long n, float scale) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1) * scale; return a; }
        float[] norm(long n) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = 1 + (float)(r.NextDouble() * 2 - 1) * 0.2f; return a; }
        void matrix(string name, TensorRole role, int layer, long rows, long cols, float scale)
        {
            var type = policy.Choose(new TensorSpec(name, role, layer, [cols, rows]), ms);
            w.AddTensor(name, type, [cols, rows], Encode(type, rnd(rows * cols, scale)));
        }
        void vector(string name, float[] v) => w.AddTensor(name, GgmlType.F32, [v.Length], Encode(GgmlType.F32, v));

        int q = s.Heads * s.HeadDim, kv = s.KvHeads * s.HeadDim;
        // Uniform(-a, a) has sd a/√3: scale = √3 · (target sd) / √fan_in keeps activations near unit size.
        float fan(int n, float sd = 1f) => MathF.Sqrt(3f / n) * sd;
        matrix("token_embd.weight", TensorRole.TokenEmbedding, -1, Vocab, s.Embd, 1f);
        vector("output_norm.weight", norm(s.Embd));
        if (!tied) matrix("output.weight", TensorRole.Output, -1, Vocab, s.Embd, fan(s.Embd, OutputLogitSd));
        for (var l = 0; l < s.Layers; l++)
        {
            var p = $"blk.{l}.";
            vector(p + "attn_norm.weight", norm(s.Embd));
            matrix(p + "attn_q.weight", TensorRole.AttnQ, l, q, s.Embd, fan(s.Embd, 1.5f));
            matrix(p + "attn_k.weight", TensorRole.AttnK, l, kv, s.Embd, fan(s.Embd, 1.5f));
            matrix(p + "attn_v.weight", TensorRole.AttnV, l, kv, s.Embd, fan(s.Embd));
            matrix(p + "attn_output.weight", TensorRole.AttnOutput, l, s.Embd, q, fan(q, 0.7f));
            if (arch == "qwen3")
            {
                vector(p + "attn_q_norm.weight", norm(s.HeadDim));
                vector(p + "attn_k_norm.weight", norm(s.HeadDim));
            }
            if (arch == "qwen2")
            {
                vector(p + "attn_q.bias", rnd(q, 0.2f));
                vector(p + "attn_k.bias", rnd(kv, 0.2f));
                vector(p + "attn_v.bias", rnd(kv, 0.2f));
            }
            vector(p + "ffn_norm.weight", norm(s.Embd));
            matrix(p + "ffn_gate.weight", TensorRole.FfnGate, l, s.Ff, s.Embd, fan(s.Embd, 1.5f));
            matrix(p + "ffn_up.weight", TensorRole.FfnUp, l, s.Ff, s.Embd, fan(s.Embd));
            matrix(p + "ffn_down.weight", TensorRole.FfnDown, l, s.Embd, s.Ff, fan(s.Ff, 0.7f));
        }
        w.WriteFile(path);
    }

    private static byte[] Encode(GgmlType type, float[] values)
    {
        var bytes = new byte[GgmlTypeInfo.Of(type).RowBytes(values.Length)];
        QuantFormats.Quantize(type, values, bytes);
        return bytes;
    }

    /// <summary>GPT-2's byte-to-unicode map: the 256 byte tokens of a byte-level BPE vocabulary, in byte order.</summary>
    public static IEnumerable<string> ByteLevelAlphabet()
    {
        var printable = new List<int>();
        for (var b = '!'; b <= '~'; b++) printable.Add(b);
        for (var b = 0xA1; b <= 0xAC; b++) printable.Add(b);
        for (var b = 0xAE; b <= 0xFF; b++) printable.Add(b);
        var map = new string[256];
        var extra = 0;
        for (var b = 0; b < 256; b++)
            map[b] = printable.Contains(b) ? ((char)b).ToString() : ((char)(256 + extra++)).ToString();
        return map;
    }
}
