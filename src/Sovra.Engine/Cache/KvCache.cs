using System.Numerics;

namespace Sovra.Engine.Cache;

/// <summary>
/// A unified multi-sequence KV cache, as llama.cpp's: every cell holds the key and value rows of one token
/// for all layers, its position, and the set of sequences (bit mask, up to 64) that see it. Sharing a prefix
/// between sequences adds bits to cells instead of copying rows.
/// </summary>
public sealed class KvCache
{
    public const int MaxSequenceIds = 64;

    private readonly int[] _pos;      // [n_cells] position of the token in the cell; -1 when free
    private readonly ulong[] _seqs;   // [n_cells] sequences that see the cell; 0 when free
    private readonly KvStore[] _k;    // [n_layer] each [n_cells, n_head_kv * head_dim_k]
    private readonly KvStore[] _v;    // [n_layer] each [n_cells, n_head_kv * head_dim_v]
    private int _used;

    internal KvCache(int cells, int sequences, int layers, int kDim, int vDim, KvCacheType type)
    {
        if (sequences is < 1 or > MaxSequenceIds) throw new ArgumentOutOfRangeException(nameof(sequences), $"sequences must be 1..{MaxSequenceIds}");
        Capacity = cells;
        MaxSequences = sequences;
        Type = type;
        _pos = new int[cells];
        Array.Fill(_pos, -1);
        _seqs = new ulong[cells];
        _k = new KvStore[layers];
        _v = new KvStore[layers];
        for (var l = 0; l < layers; l++)
        {
            _k[l] = KvStore.Create(type, cells, kDim);
            _v[l] = KvStore.Create(type, cells, vDim);
        }
        Bytes = _k.Sum(s => s.Bytes) + _v.Sum(s => s.Bytes) + cells * 12L;
    }

    /// <summary>Bytes needed for a cache of the given size, without allocating it.</summary>
    public static long BytesFor(int cells, int layers, int kDim, int vDim, KvCacheType type)
    {
        long row(int w) => type == KvCacheType.F16 ? w * 2L : w + w / 32 * 2L;
        return layers * (long)cells * (row(kDim) + row(vDim)) + cells * 12L;
    }

    public int Capacity { get; }
    public int MaxSequences { get; }
    public KvCacheType Type { get; }
    public long Bytes { get; }
    public int UsedCells => _used;
    public int FreeCells => Capacity - _used;

    internal KvStore K(int layer) => _k[layer];
    internal KvStore V(int layer) => _v[layer];

    /// <summary>1 + the highest position sequence <paramref name="seq"/> holds; 0 when it holds none.</summary>
    public int SequenceLength(int seq)
    {
        var bit = Bit(seq);
        var max = -1;
        for (var i = 0; i < Capacity; i++)
            if ((_seqs[i] & bit) != 0 && _pos[i] > max) max = _pos[i];
        return max + 1;
    }

    /// <summary>Keeps positions [0, n) of <paramref name="seq"/> and forgets the rest.</summary>
    public void Truncate(int seq, int n)
    {
        var bit = Bit(seq);
        for (var i = 0; i < Capacity; i++)
            if ((_seqs[i] & bit) != 0 && _pos[i] >= n) Drop(i, bit);
    }

    /// <summary>Forgets sequence <paramref name="seq"/> entirely.</summary>
    public void Remove(int seq) => Truncate(seq, 0);

    /// <summary>Forgets every sequence.</summary>
    public void Clear()
    {
        Array.Fill(_pos, -1);
        Array.Clear(_seqs);
        _used = 0;
    }

    /// <summary>
    /// Makes <paramref name="dst"/> hold exactly positions [0, n) of <paramref name="src"/>, sharing the cells
    /// (no rows copied). Whatever dst held before is forgotten.
    /// </summary>
    public void Share(int src, int dst, int n)
    {
        var sb = Bit(src);
        var db = Bit(dst);
        if (src == dst) { Truncate(src, n); return; }
        Remove(dst);
        for (var i = 0; i < Capacity; i++)
            if ((_seqs[i] & sb) != 0 && _pos[i] < n) _seqs[i] |= db;
    }

    private void Drop(int cell, ulong bit)
    {
        _seqs[cell] &= ~bit;
        if (_seqs[cell] == 0) { _pos[cell] = -1; _used--; }
    }

    internal ulong Bit(int seq)
    {
        if ((uint)seq >= (uint)MaxSequences) throw new ArgumentOutOfRangeException(nameof(seq), $"sequence id {seq} is outside 0..{MaxSequences - 1}");
        return 1UL << seq;
    }

    /// <summary>
    /// Finds a cell for each token of the batch and marks it used by (seq, pos); a position a sequence
    /// already holds is replaced. Throws before changing anything when the batch does not fit.
    /// </summary>
    internal void Place(Batch batch, Span<int> cells)
    {
        var n = batch.Count;
        for (var t = 0; t < n; t++) Bit(batch.Sequences[t]);
        // Cells that would be freed by replacement count as free, but only a replacement that empties the cell.
        if (n > FreeCells + CountReplaceable(batch))
            throw new KvCacheFullException($"the KV cache has {FreeCells} free cells of {Capacity}, the batch needs {n}");
        for (var t = 0; t < n; t++)
        {
            var bit = 1UL << batch.Sequences[t];
            var pos = batch.Positions[t];
            for (var i = 0; i < Capacity; i++)
                if (_pos[i] == pos && (_seqs[i] & bit) != 0) { Drop(i, bit); break; }
        }
        var next = 0;
        for (var t = 0; t < n; t++)
        {
            while (_seqs[next] != 0) next++;
            _pos[next] = batch.Positions[t];
            _seqs[next] = 1UL << batch.Sequences[t];
            _used++;
            cells[t] = next;
        }
    }

    private int CountReplaceable(Batch batch)
    {
        var count = 0;
        for (var i = 0; i < Capacity; i++)
        {
            if (_seqs[i] == 0 || BitOperations.PopCount(_seqs[i]) != 1) continue;
            for (var t = 0; t < batch.Count; t++)
                if (_pos[i] == batch.Positions[t] && _seqs[i] == 1UL << batch.Sequences[t]) { count++; break; }
        }
        return count;
    }

    /// <summary>Cells that <paramref name="seq"/> sees, ordered by position: fills cells/positions, returns the count.</summary>
    internal int Gather(int seq, Span<int> cells, Span<int> positions)
    {
        var bit = 1UL << seq;
        var m = 0;
        for (var i = 0; i < Capacity; i++)
            if ((_seqs[i] & bit) != 0) { cells[m] = i; positions[m] = _pos[i]; m++; }
        positions[..m].Sort(cells[..m]);
        return m;
    }
}
