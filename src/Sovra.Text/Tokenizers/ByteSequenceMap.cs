using System.Buffers.Binary;
using System.Numerics;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// Byte string → int, open addressing over one byte arena: the vocabulary lookup of the BPE hot loop,
/// which must not allocate per word. Keys are added once and never removed (except by <see cref="Clear"/>).
/// </summary>
internal sealed class ByteSequenceMap
{
    private byte[] _arena = new byte[1024];
    private int _arenaUsed;
    private int[] _slots; // index+1 into the entry arrays; 0 = empty
    private int[] _offset = new int[16], _length = new int[16], _value = new int[16];
    private ulong[] _hash = new ulong[16];
    private int _count;

    public ByteSequenceMap(int capacity = 16)
    {
        _slots = new int[BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2))];
    }

    public int Count => _count;

    public bool TryGet(ReadOnlySpan<byte> key, out int value)
    {
        ulong h = Hash(key);
        int mask = _slots.Length - 1;
        for (int i = (int)h & mask; ; i = (i + 1) & mask)
        {
            int e = _slots[i] - 1;
            if (e < 0) { value = 0; return false; }
            if (_hash[e] == h && _arena.AsSpan(_offset[e], _length[e]).SequenceEqual(key)) { value = _value[e]; return true; }
        }
    }

    /// <summary>Adds the key unless present; returns false (and keeps the old value) when it was.</summary>
    public bool TryAdd(ReadOnlySpan<byte> key, int value)
    {
        if ((_count + 1) * 2 > _slots.Length) Grow();
        ulong h = Hash(key);
        int mask = _slots.Length - 1;
        int i = (int)h & mask;
        for (; ; i = (i + 1) & mask)
        {
            int e = _slots[i] - 1;
            if (e < 0) break;
            if (_hash[e] == h && _arena.AsSpan(_offset[e], _length[e]).SequenceEqual(key)) return false;
        }
        if (_count == _offset.Length)
        {
            Array.Resize(ref _offset, _count * 2);
            Array.Resize(ref _length, _count * 2);
            Array.Resize(ref _value, _count * 2);
            Array.Resize(ref _hash, _count * 2);
        }
        if (_arenaUsed + key.Length > _arena.Length) Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + key.Length));
        key.CopyTo(_arena.AsSpan(_arenaUsed));
        _offset[_count] = _arenaUsed;
        _length[_count] = key.Length;
        _value[_count] = value;
        _hash[_count] = h;
        _arenaUsed += key.Length;
        _slots[i] = ++_count;
        return true;
    }

    public void Clear()
    {
        Array.Clear(_slots);
        _count = 0;
        _arenaUsed = 0;
    }

    private void Grow()
    {
        var slots = new int[_slots.Length * 2];
        int mask = slots.Length - 1;
        for (int e = 0; e < _count; e++)
        {
            int i = (int)_hash[e] & mask;
            while (slots[i] != 0) i = (i + 1) & mask;
            slots[i] = e + 1;
        }
        _slots = slots;
    }

    private static ulong Hash(ReadOnlySpan<byte> key)
    {
        const ulong k = 0x9E3779B97F4A7C15UL;
        ulong h = (ulong)key.Length * k;
        while (key.Length >= 8)
        {
            h = (BitOperations.RotateLeft(h, 23) ^ BinaryPrimitives.ReadUInt64LittleEndian(key)) * k;
            key = key[8..];
        }
        ulong tail = 0;
        for (int i = 0; i < key.Length; i++) tail |= (ulong)key[i] << (8 * i);
        h = (BitOperations.RotateLeft(h, 23) ^ tail) * k;
        return h ^ (h >> 29);
    }
}
