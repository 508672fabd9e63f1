namespace Sovra.Text.Tokenizers;

/// <summary>
/// Rank-ordered BPE on one word: repeatedly merge the adjacent pair with the lowest merge rank, the leftmost
/// first among equals (HF's order). Short words use a flat array scan; long ones (a SentencePiece segment can
/// be a whole paragraph) a linked list with a min-heap. Buffers are reused: one merger per thread.
/// </summary>
internal sealed class BpeMerger
{
    private const int FlatLimit = 48;
    private int[] _ids = new int[64], _ranks = new int[64], _merged = new int[64];
    private int[] _prev = new int[64], _next = new int[64];
    private long[] _heap = new long[64];

    /// <summary>Merges <paramref name="symbols"/> in place; returns how many remain at its start.</summary>
    public int Merge(MergeTable merges, Span<int> symbols)
    {
        int n = symbols.Length;
        if (n < 2) return n;
        return n <= FlatLimit ? MergeFlat(merges, symbols) : MergeHeap(merges, symbols);
    }

    private int MergeFlat(MergeTable merges, Span<int> ids)
    {
        int n = ids.Length;
        Span<int> ranks = _ranks.AsSpan(0, n);
        Span<int> merged = _merged.AsSpan(0, n);
        for (int k = 0; k + 1 < n; k++) ranks[k] = merges.Rank(ids[k], ids[k + 1], out merged[k]);
        while (n > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int k = 0; k + 1 < n; k++)
                if (ranks[k] < best) { best = ranks[k]; at = k; }
            if (at < 0) break;
            ids[at] = merged[at];
            // Drop symbol at+1 and the pair (at, at+1).
            for (int k = at + 1; k + 1 < n; k++) ids[k] = ids[k + 1];
            for (int k = at; k + 2 < n; k++) { ranks[k] = ranks[k + 1]; merged[k] = merged[k + 1]; }
            n--;
            if (at > 0) ranks[at - 1] = merges.Rank(ids[at - 1], ids[at], out merged[at - 1]);
            if (at + 1 < n) ranks[at] = merges.Rank(ids[at], ids[at + 1], out merged[at]);
        }
        return n;
    }

    private int MergeHeap(MergeTable merges, Span<int> symbols)
    {
        int n = symbols.Length;
        if (_ids.Length < n)
        {
            int size = Math.Max(n, _ids.Length * 2);
            _ids = new int[size]; _prev = new int[size]; _next = new int[size]; _heap = new long[size];
        }
        var ids = _ids; var prev = _prev; var next = _next;
        int heapCount = 0;
        for (int i = 0; i < n; i++)
        {
            ids[i] = symbols[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        for (int i = 0; i + 1 < n; i++)
        {
            int r = merges.Rank(ids[i], ids[i + 1], out _);
            if (r != int.MaxValue) Push(ref heapCount, ((long)r << 32) | (uint)i);
        }
        while (heapCount > 0)
        {
            long top = Pop(ref heapCount);
            int rank = (int)(top >> 32), pos = (int)(uint)top;
            if (ids[pos] < 0) continue; // merged into its left neighbour meanwhile
            int right = next[pos];
            if (right < 0) continue;
            if (merges.Rank(ids[pos], ids[right], out int m) != rank) continue; // stale entry
            ids[pos] = m;
            ids[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after >= 0) prev[after] = pos;
            int before = prev[pos];
            if (before >= 0)
            {
                int r = merges.Rank(ids[before], m, out _);
                if (r != int.MaxValue) Push(ref heapCount, ((long)r << 32) | (uint)before);
            }
            if (after >= 0)
            {
                int r = merges.Rank(m, ids[after], out _);
                if (r != int.MaxValue) Push(ref heapCount, ((long)r << 32) | (uint)pos);
            }
        }
        int count = 0;
        for (int i = 0; i >= 0; i = next[i]) symbols[count++] = ids[i];
        return count;
    }

    private void Push(ref int count, long v)
    {
        if (count == _heap.Length) Array.Resize(ref _heap, count * 2);
        var h = _heap;
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (h[parent] <= v) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
    }

    private long Pop(ref int count)
    {
        var h = _heap;
        long top = h[0];
        long last = h[--count];
        int i = 0;
        while (true)
        {
            int c = 2 * i + 1;
            if (c >= count) break;
            if (c + 1 < count && h[c + 1] < h[c]) c++;
            if (h[c] >= last) break;
            h[i] = h[c];
            i = c;
        }
        if (count > 0) h[i] = last;
        return top;
    }
}
