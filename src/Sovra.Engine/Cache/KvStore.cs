using System.Numerics.Tensors;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Cache;

/// <summary>Rows of one layer's keys or values, one row per KV cell: [n_cells, width].</summary>
internal abstract class KvStore
{
    public abstract long Bytes { get; }
    public abstract void Write(int cell, ReadOnlySpan<float> row);
    /// <summary>Copies columns [col, col + dst.Length) of cell's row as floats.</summary>
    public abstract void Read(int cell, int col, Span<float> dst);

    public static KvStore Create(KvCacheType type, int cells, int width) => type switch
    {
        KvCacheType.F16 => new F16Store(cells, width),
        KvCacheType.Q8_0 => new Q8Store(cells, width),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}

internal sealed class F16Store(int cells, int width) : KvStore
{
    private readonly Half[] _data = new Half[(long)cells * width];   // [n_cells, width]

    public override long Bytes => (long)_data.Length * 2;

    public override void Write(int cell, ReadOnlySpan<float> row) =>
        TensorPrimitives.ConvertToHalf(row, _data.AsSpan(cell * width, width));

    public override void Read(int cell, int col, Span<float> dst) =>
        TensorPrimitives.ConvertToSingle(_data.AsSpan(cell * width + col, dst.Length), dst);
}

/// <summary>ggml's Q8_0 layout split in two arrays: blocks of 32 int8 values with one F16 scale each.</summary>
internal sealed class Q8Store : KvStore
{
    private readonly int _width;
    private readonly sbyte[] _q;      // [n_cells, width]
    private readonly Half[] _scale;   // [n_cells, width / 32]

    public Q8Store(int cells, int width)
    {
        if (width % 32 != 0) throw new ArgumentException($"a Q8_0 KV cache needs rows that are a multiple of 32 values, got {width}");
        _width = width;
        _q = new sbyte[(long)cells * width];
        _scale = new Half[(long)cells * width / 32];
    }

    public override long Bytes => _q.LongLength + _scale.LongLength * 2;

    public override void Write(int cell, ReadOnlySpan<float> row)
    {
        var q = _q.AsSpan(cell * _width, _width);
        var s = _scale.AsSpan(cell * _width / 32, _width / 32);
        // llama.cpp stores K/V rows with ggml-cpu's own Q8_0 rounding; the kernels' one is the same function.
        for (var b = 0; b < s.Length; b++) s[b] = GgmlRounding.QuantizeQ8Block(row.Slice(b * 32, 32), q.Slice(b * 32, 32));
    }

    public override void Read(int cell, int col, Span<float> dst)
    {
        // Reads are head-aligned: col and the length are multiples of 32 whenever head sizes are.
        var baseIdx = cell * _width;
        for (var i = 0; i < dst.Length; i++)
        {
            var c = col + i;
            dst[i] = (float)_scale[(baseIdx + c) / 32] * _q[baseIdx + c];
        }
    }
}
