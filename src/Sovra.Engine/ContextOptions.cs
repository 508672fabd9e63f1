using Sovra.Engine.Cache;

namespace Sovra.Engine;

/// <summary>What a context holds: KV cells, sequences, the largest batch, the cache type, and threads.</summary>
public sealed record ContextOptions
{
    /// <summary>KV cells shared by all sequences. 0: the model's training context, capped at 4096.</summary>
    public int ContextLength { get; init; }
    public int MaxSequences { get; init; } = 1;
    /// <summary>Largest batch passed to Decode (prompt chunks longer than this are split by the caller).</summary>
    public int MaxBatchTokens { get; init; } = 512;
    public KvCacheType KvType { get; init; } = KvCacheType.F16;
    /// <summary>0: all cores.</summary>
    public int Threads { get; init; }
}
