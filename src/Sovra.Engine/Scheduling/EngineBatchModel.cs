using Sovra.Engine.Cache;

namespace Sovra.Engine.Scheduling;

/// <summary>
/// The engine as the scheduler sees it: one <see cref="InferenceContext"/> whose unified KV cache is the
/// pool, and its batched Decode. Prefix copies share cells (no rows copied).
/// </summary>
public sealed class EngineBatchModel : IBatchModel, IDisposable
{
    private readonly InferenceContext _context;
    private readonly Batch _batch;

    /// <param name="contextPerSequence">Positions one sequence may hold (at most the cache's cells).</param>
    public EngineBatchModel(InferenceContext context, int contextPerSequence)
    {
        _context = context;
        if (contextPerSequence < 2 || contextPerSequence > context.Kv.Capacity)
            throw new ArgumentOutOfRangeException(nameof(contextPerSequence), $"a sequence's context must be 2..{context.Kv.Capacity} (the cache's cells)");
        ContextLength = contextPerSequence;
        _batch = new Batch(context.Options.MaxBatchTokens);
    }

    public InferenceContext Context => _context;
    public int VocabSize => _context.VocabularySize;
    public int ContextLength { get; }
    public int MaxSequences => _context.Kv.MaxSequences;
    public int KvCapacity => _context.Kv.Capacity;
    public long KvBytes => _context.KvCacheBytes;

    /// <summary>Largest batch the context accepts; the scheduler's MaxBatchTokens must not exceed it.</summary>
    public int MaxBatchTokens => _context.Options.MaxBatchTokens;

    public void Forward(ReadOnlySpan<BatchToken> batch, Span<float> logits)
    {
        _batch.Clear();
        foreach (var t in batch) _batch.Add(t.Token, t.Position, t.Sequence, t.WantLogits);
        _context.Decode(_batch);
        var vocab = VocabSize;
        var row = 0;
        for (var i = 0; i < batch.Length; i++)
            if (batch[i].WantLogits)
                _context.GetLogits(i).CopyTo(logits.Slice(row++ * vocab, vocab));
    }

    public void CopyPrefix(int source, int destination, int length) => _context.Kv.Share(source, destination, length);

    public void Truncate(int sequence, int length) => _context.Kv.Truncate(sequence, length);

    public void Free(int sequence) => _context.Kv.Remove(sequence);

    public void Dispose() => _context.Dispose();
}
