using Sovra.Engine.Cache;

namespace Sovra.Engine.Blocks;

/// <summary>
/// What every layer of one step needs to know about the batch: where each token's K/V row goes, and for each
/// sequence in the batch its tokens and the cells it sees (sorted by position). Built once per step.
/// </summary>
public sealed class BatchPlan
{
    private readonly int[] _cells;          // [max_tokens] KV cell of each batch token
    private readonly int[] _groupTokens;    // [max_tokens] batch indices grouped by sequence
    private readonly int[] _visibleCells;   // [max_seqs_in_batch · n_cells] cells each group sees, by position
    private readonly int[] _visiblePos;     // same shape, their positions
    private readonly List<Group> _groups = [];
    private readonly int _kvCells;

    public BatchPlan(int maxTokens, int kvCells, int maxSequences)
    {
        _kvCells = kvCells;
        _cells = new int[maxTokens];
        _groupTokens = new int[maxTokens];
        _visibleCells = new int[Math.Min(maxTokens, maxSequences) * kvCells];
        _visiblePos = new int[_visibleCells.Length];
    }

    public readonly record struct Group(int Sequence, int TokenStart, int TokenCount, int VisibleStart, int VisibleCount);

    public IReadOnlyList<Group> Groups => _groups;
    public ReadOnlySpan<int> Cells => _cells;
    public ReadOnlySpan<int> GroupTokens => _groupTokens;
    public ReadOnlySpan<int> VisibleCells(Group g) => _visibleCells.AsSpan(g.VisibleStart, g.VisibleCount);
    public ReadOnlySpan<int> VisiblePositions(Group g) => _visiblePos.AsSpan(g.VisibleStart, g.VisibleCount);

    internal void Build(Batch batch, KvCache kv)
    {
        kv.Place(batch, _cells);
        _groups.Clear();
        var seqs = batch.Sequences;
        var filled = 0;
        Span<bool> seen = stackalloc bool[KvCache.MaxSequenceIds];
        for (var t = 0; t < batch.Count; t++)
        {
            var s = seqs[t];
            if (seen[s]) continue;
            seen[s] = true;
            var start = filled;
            for (var u = t; u < batch.Count; u++)
                if (seqs[u] == s) _groupTokens[filled++] = u;
            var vStart = _groups.Count * _kvCells;
            var m = kv.Gather(s, _visibleCells.AsSpan(vStart, _kvCells), _visiblePos.AsSpan(vStart, _kvCells));
            _groups.Add(new Group(s, start, filled - start, vStart, m));
        }
    }
}
