using System.Globalization;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Synthetic;

/// <summary>One tensor of a planned synthetic model: its spec, its chosen type and its bytes.</summary>
public sealed record PlannedTensor(TensorSpec Spec, GgmlType Type, long Bytes);

/// <summary>
/// A synthetic model: real shapes and llama.cpp's names and keys, seeded random weights (same seed, byte-identical
/// file), the real Qwen3 tokenizer and chat template. Weight matrices are N(0, 0.02)-like, norms 1 + N(0, 0.02),
/// biases N(0, 0.02): activations stay in range through every layer, so the files run and generate.
/// </summary>
public sealed class SyntheticModel
{
    public const float WeightStd = 0.02f;

    private SyntheticModel(ModelShape shape, TensorTypePolicy policy, SyntheticTokenizer tokenizer, ulong seed, int vocab, List<PlannedTensor> tensors)
    {
        Shape = shape;
        Policy = policy;
        Tokenizer = tokenizer;
        Seed = seed;
        Vocab = vocab;
        Tensors = tensors;
    }

    public ModelShape Shape { get; }
    public TensorTypePolicy Policy { get; }
    public SyntheticTokenizer Tokenizer { get; }
    public ulong Seed { get; }
    public int Vocab { get; }
    public IReadOnlyList<PlannedTensor> Tensors { get; }

    public long ParameterCount => Tensors.Sum(t => t.Spec.Elements);

    public long TensorBytes => Tensors.Sum(t => t.Bytes);

    /// <summary>Plans a model: checks the shape and that every chosen type can be quantized.</summary>
    public static SyntheticModel Create(ModelShape shape, TensorTypePolicy policy, ulong seed = 0, SyntheticTokenizer? tokenizer = null)
    {
        if (shape.Layers < 1 || shape.Layers > 1024) throw new ArgumentException($"{shape.Layers} layers: use 1 to 1024");
        tokenizer ??= SyntheticTokenizer.Qwen3();
        var vocab = shape.Vocab == 0 ? tokenizer.Tokens.Length : shape.Vocab;
        var specs = TensorSpec.For(shape, vocab);
        policy.EnsureQuantizable(specs, shape);
        var planned = specs.Select(s =>
        {
            var type = policy.Choose(s, shape);
            return new PlannedTensor(s, type, GgufWriter.TensorBytes(type, s.Dims));
        }).ToList();
        return new SyntheticModel(shape, policy, tokenizer, seed, vocab, planned);
    }

    /// <summary>A writer holding the metadata, with every tensor's data generated as it is written.</summary>
    public GgufWriter ToWriter()
    {
        var s = Shape;
        var a = s.Architecture;
        var w = new GgufWriter();
        w.Set(WellKnownKeys.GeneralArchitecture, a);
        w.Set("general.type", "model");
        w.Set(WellKnownKeys.GeneralName, $"Sovra synthetic {s.Preset}");
        w.Set(WellKnownKeys.GeneralFileType, Policy.FileType);
        w.Set(WellKnownKeys.GeneralQuantizationVersion, 2u);
        w.Set("sovra.synthetic.preset", s.Preset);
        w.Set("sovra.synthetic.seed", GgufValue.FromUInt64(Seed));
        w.Set("sovra.synthetic.type", Policy.Name);
        w.Set($"{a}.block_count", (uint)s.Layers);
        w.Set($"{a}.context_length", (uint)s.ContextLength);
        w.Set($"{a}.embedding_length", (uint)s.Hidden);
        w.Set($"{a}.feed_forward_length", (uint)s.FeedForward);
        w.Set($"{a}.attention.head_count", (uint)s.Heads);
        w.Set($"{a}.attention.head_count_kv", (uint)s.KvHeads);
        w.Set($"{a}.rope.freq_base", s.RopeTheta);
        w.Set($"{a}.attention.layer_norm_rms_epsilon", s.RmsEpsilon);
        w.Set($"{a}.attention.key_length", (uint)s.HeadDim);
        w.Set($"{a}.attention.value_length", (uint)s.HeadDim);
        if (a == "llama")
        {
            w.Set("llama.rope.dimension_count", (uint)s.HeadDim);
            w.Set("llama.vocab_size", (uint)Vocab);
        }
        if (s.IsMoE)
        {
            w.Set($"{a}.expert_count", (uint)s.Experts);
            w.Set($"{a}.expert_used_count", (uint)s.ExpertsUsed);
            w.Set($"{a}.expert_feed_forward_length", (uint)s.ExpertFeedForward);
        }
        Tokenizer.WriteTo(w, Vocab);
        foreach (var t in Tensors)
            w.AddTensor(t.Spec.Name, t.Type, t.Spec.Dims, stream => WriteData(t, stream));
        return w;
    }

    public void WriteFile(string path) => ToWriter().WriteFile(path);

    /// <summary>Generates and encodes a tensor row by row; chunks of rows are generated in parallel, written in order.</summary>
    private void WriteData(PlannedTensor t, Stream output)
    {
        var rowLength = (int)t.Spec.Dims[0];
        var rows = t.Spec.Elements / rowLength;
        var rowBytes = (int)(t.Bytes / rows);
        var tensorSeed = SyntheticRandom.Mix(Seed, SyntheticRandom.Hash(t.Spec.Name));
        var rowsPerChunk = (int)Math.Clamp((4L << 20) / Math.Max(1, rowBytes), 1, rows);
        var chunk = new byte[rowsPerChunk * (long)rowBytes];
        var (center, std) = t.Spec.IsNorm ? (1f, WeightStd) : (0f, WeightStd);
        for (long first = 0; first < rows; first += rowsPerChunk)
        {
            var n = (int)Math.Min(rowsPerChunk, rows - first);
            var start = first;
            Parallel.For(0, n, () => new float[rowLength], (i, _, values) =>
            {
                var rng = new SyntheticRandom(SyntheticRandom.Mix(tensorSeed, (ulong)(start + i)));
                for (var j = 0; j < values.Length; j++) values[j] = center + std * rng.NextGaussian();
                QuantFormats.Quantize(t.Type, values, chunk.AsSpan(i * rowBytes, rowBytes));
                return values;
            }, _ => { });
            output.Write(chunk, 0, n * rowBytes);
        }
    }

    /// <summary>One line per tensor type: count, parameters and bytes, for logs and the CLI.</summary>
    public string Summary() => string.Join(", ", Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key)
        .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count()} {g.Key}")));
}
