namespace Sovra.Engine.Cache;

/// <summary>
/// Tokens for one forward step, possibly from several sequences, as llama.cpp's <c>llama_batch</c>:
/// each entry has a token id, its position in its sequence, the sequence id, and whether its logits are wanted.
/// </summary>
public sealed class Batch
{
    private readonly int[] _tokens, _positions, _sequences;
    private readonly bool[] _logits;

    public Batch(int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        _tokens = new int[capacity]; _positions = new int[capacity]; _sequences = new int[capacity]; _logits = new bool[capacity];
    }

    public int Capacity => _tokens.Length;
    public int Count { get; private set; }
    public int LogitCount { get; private set; }

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, Count);
    public ReadOnlySpan<int> Sequences => _sequences.AsSpan(0, Count);
    public ReadOnlySpan<bool> WantsLogits => _logits.AsSpan(0, Count);

    /// <summary>Appends one token; returns its index in the batch (what <c>GetLogits</c> takes).</summary>
    public int Add(int token, int position, int sequence, bool logits)
    {
        if (Count == Capacity) throw new InvalidOperationException($"the batch is full ({Capacity} tokens)");
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position));
        _tokens[Count] = token; _positions[Count] = position; _sequences[Count] = sequence; _logits[Count] = logits;
        if (logits) LogitCount++;
        return Count++;
    }

    /// <summary>Adds consecutive tokens of one sequence starting at <paramref name="startPosition"/>; logits only for the last if asked.</summary>
    public void AddSequence(ReadOnlySpan<int> tokens, int startPosition, int sequence, bool logitsForLast)
    {
        for (var i = 0; i < tokens.Length; i++) Add(tokens[i], startPosition + i, sequence, logitsForLast && i == tokens.Length - 1);
    }

    public void Clear() { Count = 0; LogitCount = 0; }
}
