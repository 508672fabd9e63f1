using System.Numerics.Tensors;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Model;

/// <summary>
/// Reference weight matrix over bytes in memory: each row is decoded to floats once per call and dotted with
/// every row of x. Exact and simple; the kernels' quantised dot products replace it for speed.
/// </summary>
public sealed class DequantizingMatrix : IWeightMatrix
{
    private readonly ReadOnlyMemory<byte> _data;   // [Rows, RowBytes]
    private readonly int _rowBytes;

    public DequantizingMatrix(string name, GgmlType type, int rows, int cols, ReadOnlyMemory<byte> data)
    {
        Name = name; Type = type; Rows = rows; Cols = cols;
        _rowBytes = checked((int)GgmlTypeInfo.Of(type).RowBytes(cols));
        if (data.Length != (long)_rowBytes * rows) throw new ArgumentException($"{name}: {rows}×{cols} {type} needs {(long)_rowBytes * rows} bytes, got {data.Length}");
        _data = data;
    }

    public string Name { get; }
    public int Rows { get; }
    public int Cols { get; }
    public GgmlType Type { get; }

    public void ReadRow(int row, Span<float> dst) =>
        QuantFormats.Dequantize(Type, _data.Span.Slice(row * _rowBytes, _rowBytes), dst[..Cols]);

    public void MatMul(ReadOnlySpan<float> x, int n, Span<float> y, Compute compute)
    {
        var xs = x[..(n * Cols)].ToArray();
        var ys = new float[n * Rows];
        compute.For(Rows, (_, start, end) =>
        {
            var w = new float[Cols];   // [Cols] one decoded row
            for (var r = start; r < end; r++)
            {
                ReadRow(r, w);
                for (var t = 0; t < n; t++) ys[t * Rows + r] = TensorPrimitives.Dot(w, xs.AsSpan(t * Cols, Cols));
            }
        });
        ys.CopyTo(y);
    }
}
