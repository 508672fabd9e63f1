using System.Numerics;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// (left id, right id) → (rank, merged id), open addressing on one packed key. Rank 0 is the first merge.
/// </summary>
internal sealed class MergeTable
{
    private readonly ulong[] _keys; // (left+1) << 32 | (right+1); 0 = empty
    private readonly int[] _rank, _merged;
    private readonly int _mask;

    public MergeTable(int count)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count * 2));
        _keys = new ulong[size];
        _rank = new int[size];
        _merged = new int[size];
        _mask = size - 1;
    }

    /// <summary>Adds a merge; a pair seen before keeps its first (lowest) rank, as in HF.</summary>
    public void Add(int left, int right, int rank, int merged)
    {
        ulong key = Key(left, right);
        int i = Slot(key);
        while (_keys[i] != 0)
        {
            if (_keys[i] == key) return;
            i = (i + 1) & _mask;
        }
        _keys[i] = key;
        _rank[i] = rank;
        _merged[i] = merged;
    }

    /// <summary>The rank of merging the pair, or int.MaxValue when there is no such merge.</summary>
    public int Rank(int left, int right, out int merged)
    {
        ulong key = Key(left, right);
        for (int i = Slot(key); ; i = (i + 1) & _mask)
        {
            ulong k = _keys[i];
            if (k == key) { merged = _merged[i]; return _rank[i]; }
            if (k == 0) { merged = -1; return int.MaxValue; }
        }
    }

    private static ulong Key(int left, int right) => ((ulong)(uint)(left + 1) << 32) | (uint)(right + 1);

    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 32) & _mask;
}
