namespace Sovra.Engine.Synthetic;

/// <summary>
/// The hyper-parameters of a synthetic model: everything that decides tensor names, shapes and metadata.
/// <see cref="Vocab"/> 0 means "the tokenizer's own size" (no padding rows).
/// </summary>
public sealed record ModelShape(
    string Preset,
    string Architecture,
    int Layers,
    int Hidden,
    int Heads,
    int KvHeads,
    int HeadDim,
    int FeedForward,
    int Vocab,
    bool TiedEmbeddings,
    bool QkNorm,
    bool QkvBias,
    float RopeTheta,
    int ContextLength,
    float RmsEpsilon,
    int Experts = 0,
    int ExpertsUsed = 0,
    int ExpertFeedForward = 0)
{
    public bool IsMoE => Experts > 0;

    /// <summary>The presets: real shapes (Qwen3-0.6B, Qwen3-30B-A3B with fewer layers) and tiny ones for unit tests.</summary>
    public static readonly IReadOnlyDictionary<string, ModelShape> Presets = new Dictionary<string, ModelShape>(StringComparer.OrdinalIgnoreCase)
    {
        // A few MB for unit tests: the real Qwen3 vocabulary (151 669 tokens, no padding) dominates the size.
        ["qwen3-tiny"] = new("qwen3-tiny", "qwen3", 2, 64, 4, 2, 16, 128, 0, TiedEmbeddings: true, QkNorm: true, QkvBias: false,
            RopeTheta: 1e6f, ContextLength: 4096, RmsEpsilon: 1e-6f),
        // Qwen3-0.6B's config.json: 28 layers, hidden 1024, 16/8 heads of 128, FFN 3072, vocab 151936, tied, theta 1e6.
        ["qwen3-0.6b"] = new("qwen3-0.6b", "qwen3", 28, 1024, 16, 8, 128, 3072, 151936, TiedEmbeddings: true, QkNorm: true, QkvBias: false,
            RopeTheta: 1e6f, ContextLength: 40960, RmsEpsilon: 1e-6f),
        // Qwen3-30B-A3B's shape with 2 of its 48 layers (set --layers 48 for the full 30.5 B parameters).
        ["qwen3moe"] = new("qwen3moe", "qwen3moe", 2, 2048, 32, 4, 128, 6144, 151936, TiedEmbeddings: false, QkNorm: true, QkvBias: false,
            RopeTheta: 1e6f, ContextLength: 40960, RmsEpsilon: 1e-6f, Experts: 128, ExpertsUsed: 8, ExpertFeedForward: 768),
        ["qwen3moe-tiny"] = new("qwen3moe-tiny", "qwen3moe", 2, 64, 4, 2, 16, 128, 0, TiedEmbeddings: true, QkNorm: true, QkvBias: false,
            RopeTheta: 1e6f, ContextLength: 4096, RmsEpsilon: 1e-6f, Experts: 4, ExpertsUsed: 2, ExpertFeedForward: 32),
        // Qwen2-style: q/k/v biases, no q/k norms.
        ["qwen2-tiny"] = new("qwen2-tiny", "qwen2", 2, 64, 4, 2, 16, 128, 0, TiedEmbeddings: true, QkNorm: false, QkvBias: true,
            RopeTheta: 1e6f, ContextLength: 4096, RmsEpsilon: 1e-6f),
        // Llama-style: no biases, no q/k norms, a separate output matrix.
        ["llama-tiny"] = new("llama-tiny", "llama", 2, 64, 4, 2, 16, 128, 0, TiedEmbeddings: false, QkNorm: false, QkvBias: false,
            RopeTheta: 500000f, ContextLength: 4096, RmsEpsilon: 1e-5f),
    };

    public static ModelShape Get(string preset) =>
        Presets.TryGetValue(preset, out var s) ? s
            : throw new ArgumentException($"unknown preset '{preset}'; the presets are: {string.Join(", ", Presets.Keys)}");
}
