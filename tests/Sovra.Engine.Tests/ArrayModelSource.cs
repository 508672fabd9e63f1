using System.Runtime.InteropServices;
using Sovra.Engine.Model;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Tests;

/// <summary>An in-memory model (metadata + F32 tensors) for tests of the engine's own invariants.</summary>
internal sealed class ArrayModelSource : IModelSource
{
    private readonly Dictionary<string, object> _meta = [];
    private readonly Dictionary<string, (TensorDescriptor Desc, byte[] Bytes)> _tensors = [];

    public string Path => "memory.gguf";
    public long FileBytes => _tensors.Values.Sum(t => (long)t.Bytes.Length);

    public ArrayModelSource Set(string key, object value) { _meta[key] = value; return this; }
    public ArrayModelSource Remove(string key) { _meta.Remove(key); _tensors.Remove(key); return this; }

    public ArrayModelSource Tensor(string name, float[] values, GgmlType type, params long[] dims)
    {
        var bytes = new byte[GgmlTypeInfo.Of(type).RowBytes(values.Length)];
        if (QuantFormats.CanQuantize(type)) QuantFormats.Quantize(type, values, bytes);
        _tensors[name] = (new TensorDescriptor(name, type, dims), bytes);
        return this;
    }

    public string? GetString(string key) => _meta.GetValueOrDefault(key) as string;
    public long? GetInteger(string key) => _meta.GetValueOrDefault(key) switch { int i => i, long l => l, _ => null };
    public double? GetFloat(string key) => _meta.GetValueOrDefault(key) switch { float f => f, double d => d, _ => null };
    public int? GetArrayLength(string key) => _meta.GetValueOrDefault(key) is Array a ? a.Length : null;
    public IReadOnlyList<long>? GetIntegerArray(string key) => _meta.GetValueOrDefault(key) is long[] a ? a : null;
    public TensorDescriptor? FindTensor(string name) => _tensors.TryGetValue(name, out var t) ? t.Desc : null;

    public IWeightMatrix Matrix(TensorDescriptor t) =>
        new DequantizingMatrix(t.Name, t.Type, (int)t.Dims[1], (int)t.Dims[0], _tensors[t.Name].Bytes);

    public float[] ReadFloats(TensorDescriptor t)
    {
        var n = (int)t.Dims.Aggregate(1L, (a, b) => a * b);
        var dst = new float[n];
        QuantFormats.Dequantize(t.Type, _tensors[t.Name].Bytes, dst);
        return dst;
    }

    public void Dispose() { }

    /// <summary>A small qwen3-shaped model with random weights (or qwen2 / llama with their extra tensors).</summary>
    public static ArrayModelSource Tiny(string arch = "qwen3", int seed = 1, int nVocab = 64, int nEmbd = 64, int nLayer = 2,
        int nHead = 4, int nHeadKv = 2, int headDim = 32, int nFf = 96, bool tied = false)
    {
        var r = new Random(seed);
        float[] rnd(long n, float scale) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1) * scale; return a; }
        float[] ones(long n, float jitter) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = 1 + (float)(r.NextDouble() * 2 - 1) * jitter; return a; }
        var s = new ArrayModelSource()
            .Set("general.architecture", arch)
            .Set($"{arch}.context_length", 256)
            .Set($"{arch}.embedding_length", nEmbd)
            .Set($"{arch}.block_count", nLayer)
            .Set($"{arch}.feed_forward_length", nFf)
            .Set($"{arch}.attention.head_count", nHead)
            .Set($"{arch}.attention.head_count_kv", nHeadKv)
            .Set($"{arch}.attention.key_length", headDim)
            .Set($"{arch}.attention.value_length", headDim)
            .Set($"{arch}.attention.layer_norm_rms_epsilon", 1e-6f)
            .Set($"{arch}.rope.freq_base", 10000f)
            .Set($"{arch}.vocab_size", nVocab)
            .Set("tokenizer.ggml.eos_token_id", nVocab - 1);
        var t = GgmlType.F32;
        s.Tensor("token_embd.weight", rnd((long)nVocab * nEmbd, 1f), t, nEmbd, nVocab);
        s.Tensor("output_norm.weight", ones(nEmbd, 0.1f), t, nEmbd);
        if (!tied) s.Tensor("output.weight", rnd((long)nVocab * nEmbd, 0.3f), t, nEmbd, nVocab);
        int q = nHead * headDim, kv = nHeadKv * headDim;
        for (var l = 0; l < nLayer; l++)
        {
            var p = $"blk.{l}.";
            s.Tensor(p + "attn_norm.weight", ones(nEmbd, 0.1f), t, nEmbd);
            s.Tensor(p + "attn_q.weight", rnd((long)q * nEmbd, 0.3f), t, nEmbd, q);
            s.Tensor(p + "attn_k.weight", rnd((long)kv * nEmbd, 0.3f), t, nEmbd, kv);
            s.Tensor(p + "attn_v.weight", rnd((long)kv * nEmbd, 0.3f), t, nEmbd, kv);
            s.Tensor(p + "attn_output.weight", rnd((long)nEmbd * q, 0.2f), t, q, nEmbd);
            if (arch == "qwen3")
            {
                s.Tensor(p + "attn_q_norm.weight", ones(headDim, 0.1f), t, headDim);
                s.Tensor(p + "attn_k_norm.weight", ones(headDim, 0.1f), t, headDim);
            }
            if (arch == "qwen2")
            {
                s.Tensor(p + "attn_q.bias", rnd(q, 0.1f), t, q);
                s.Tensor(p + "attn_k.bias", rnd(kv, 0.1f), t, kv);
                s.Tensor(p + "attn_v.bias", rnd(kv, 0.1f), t, kv);
            }
            s.Tensor(p + "ffn_norm.weight", ones(nEmbd, 0.1f), t, nEmbd);
            s.Tensor(p + "ffn_gate.weight", rnd((long)nFf * nEmbd, 0.3f), t, nEmbd, nFf);
            s.Tensor(p + "ffn_up.weight", rnd((long)nFf * nEmbd, 0.3f), t, nEmbd, nFf);
            s.Tensor(p + "ffn_down.weight", rnd((long)nEmbd * nFf, 0.2f), t, nFf, nEmbd);
        }
        return s;
    }

    public void ReplaceTensorDims(string name, params long[] dims)
    {
        var (d, b) = _tensors[name];
        _tensors[name] = (d with { Dims = dims }, b);
    }

    public void ReplaceTensorType(string name, GgmlType type)
    {
        var (d, b) = _tensors[name];
        _tensors[name] = (d with { Type = type }, b);
    }

    internal static ReadOnlySpan<byte> AsBytes(float[] f) => MemoryMarshal.AsBytes(f.AsSpan());
}
