namespace Sovra.Engine.Scheduling;

/// <summary>One token of a batched forward pass: which sequence it belongs to, at which position, and
/// whether the caller wants the next-token logits after it.</summary>
public readonly record struct BatchToken(int Token, int Position, int Sequence, bool WantLogits);

/// <summary>
/// What the continuous-batching scheduler needs from a model: one forward pass over tokens of many
/// sequences at once, and a multi-sequence KV cache it can copy prefixes in, truncate and free.
/// The engine's model implements it through an adapter; tests may drive the scheduler with any model.
/// </summary>
public interface IBatchModel
{
    int VocabSize { get; }

    /// <summary>Most positions one sequence may hold (the context length the cache was built for).</summary>
    int ContextLength { get; }

    /// <summary>Sequence ids the cache accepts: 0 .. MaxSequences-1.</summary>
    int MaxSequences { get; }

    /// <summary>KV cells in the pool, all sequences together (one cell = one token of one sequence).</summary>
    int KvCapacity { get; }

    /// <summary>Bytes the KV pool occupies, for the metrics.</summary>
    long KvBytes { get; }

    /// <summary>Runs the batch; writes one row of logits per token with WantLogits, in batch order.</summary>
    /// <param name="logits">[count(WantLogits), VocabSize], row-major.</param>
    void Forward(ReadOnlySpan<BatchToken> batch, Span<float> logits);

    /// <summary>Makes positions [0, length) of <paramref name="destination"/> equal to those of <paramref name="source"/>.
    /// The destination is empty before the call.</summary>
    void CopyPrefix(int source, int destination, int length);

    /// <summary>Drops positions length.. of a sequence.</summary>
    void Truncate(int sequence, int length);

    /// <summary>Drops the whole sequence; its id may be used again.</summary>
    void Free(int sequence);
}
