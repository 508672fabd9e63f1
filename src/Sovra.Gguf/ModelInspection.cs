namespace Sovra.Gguf;

/// <summary>Tensors of one type: how many, their parameters and bytes.</summary>
public sealed record TensorTypeTotal(GgmlType Type, int Count, long Parameters, long Bytes);

/// <summary>Memory to run a model at a context length: weights + an F16 KV cache + a stated overhead.</summary>
/// <param name="OverheadBytes">64 MiB for the runtime, the activations of one 512-token batch in F32
/// (512 × (4·hidden + 2·FFN width, or the used experts' total width) × 4 bytes) and one token's logits (vocabulary × 4 bytes).</param>
public sealed record MemoryEstimate(long Context, long WeightsBytes, long KvCacheBytes, long OverheadBytes)
{
    public long TotalBytes => WeightsBytes + KvCacheBytes + OverheadBytes;

    public const long RuntimeBytes = 64L << 20;
    public const int BatchTokens = 512;
}

/// <summary>What <c>sovra inspect</c> reports about a file: parameter counts, the type mix and the memory to run it.</summary>
public sealed class ModelInspection
{
    public ModelInspection(GgufFile file)
    {
        File = file;
        try
        {
            Model = file.Model;
        }
        catch (GgufFormatException e) when (e.Field == WellKnownKeys.GeneralArchitecture && !file.Metadata.ContainsKey(WellKnownKeys.GeneralArchitecture))
        {
            Model = null; // not a model file (an adapter, a vocabulary-only file): report what there is
        }
        Parameters = file.Tensors.Sum(t => t.Elements);
        TensorBytes = file.Tensors.Sum(t => t.ByteSize);
        TypeTotals = file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key)
            .Select(g => new TensorTypeTotal(g.Key, g.Count(), g.Sum(t => t.Elements), g.Sum(t => t.ByteSize))).ToList();
        if (Model is { IsMixtureOfExperts: true, ExpertCount: > 0 } m && m.ExpertUsedCount is { } used)
        {
            var experts = file.Tensors.Where(t => t.Name.Contains("_exps.", StringComparison.Ordinal)).Sum(t => t.Elements);
            ActiveParameters = Parameters - experts + experts / m.ExpertCount!.Value * used;
        }
    }

    public GgufFile File { get; }

    /// <summary>Null when the file has no general.architecture.</summary>
    public ModelMetadata? Model { get; }

    /// <summary>Elements of all tensors (a tied embedding is one tensor, so it counts once).</summary>
    public long Parameters { get; }

    /// <summary>For mixture-of-experts models: the parameters one token uses (all but the unused experts).</summary>
    public long? ActiveParameters { get; }

    public long TensorBytes { get; }

    public IReadOnlyList<TensorTypeTotal> TypeTotals { get; }

    /// <summary>The memory to run at <paramref name="context"/> tokens (see <see cref="MemoryEstimate"/> for the overhead).</summary>
    public MemoryEstimate Memory(long context)
    {
        if (context < 1) throw new ArgumentOutOfRangeException(nameof(context), "the context must be at least 1 token");
        long kv = 0, batch = 0;
        if (Model is { } m)
        {
            var layers = (int)(m.BlockCount ?? 0);
            for (var i = 0; i < layers; i++)
            {
                long kvHeads = m.HeadCountKvPerLayer is { Length: > 0 } per ? per[Math.Min(i, per.Length - 1)] : m.HeadCountKv ?? 0;
                kv = checked(kv + context * kvHeads * ((m.KeyLength ?? 0) + (m.ValueLength ?? 0)) * 2);
            }
            long hidden = m.EmbeddingLength ?? 0;
            long ffn = m.IsMixtureOfExperts ? (long)(m.ExpertFeedForwardLength ?? 0) * (m.ExpertUsedCount ?? 0) : m.FeedForwardLength ?? 0;
            batch = MemoryEstimate.BatchTokens * (4 * hidden + 2 * ffn) * 4L + (m.VocabSize ?? 0) * 4L;
        }
        return new MemoryEstimate(context, TensorBytes, kv, MemoryEstimate.RuntimeBytes + batch);
    }

    /// <summary>Token id and text of each special token the file names.</summary>
    public IEnumerable<(string Name, int Id, string? Text)> SpecialTokens()
    {
        if (Model is not { } m) yield break;
        (string, int?)[] all = [("bos", m.BosTokenId), ("eos", m.EosTokenId), ("eot", m.EotTokenId), ("eom", m.EomTokenId),
            ("pad", m.PadTokenId), ("unk", m.UnkTokenId), ("sep", m.SepTokenId)];
        foreach (var (name, id) in all)
            if (id is { } v) yield return (name, v, m.Tokens is { } t && v < t.Length ? t[v] : null);
    }
}
