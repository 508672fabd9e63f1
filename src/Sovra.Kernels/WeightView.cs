using System.Runtime.InteropServices;
using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Kernels;

/// <summary>
/// A weight matrix used in place: <see cref="Rows"/> rows of <see cref="Cols"/> values, row-major, each row a
/// whole number of blocks (GGUF's ne[0] = cols, ne[1] = rows). Made over a memory-mapped file (the caller keeps
/// the mapping open while the view is used) or over a managed copy for tests.
/// </summary>
public readonly unsafe struct WeightView
{
    private readonly byte* _data;
    private readonly object? _owner; // the pinned copy a FromBytes view reads, kept alive with the view

    public GgmlType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Bytes of one row.</summary>
    public long RowBytes { get; }
    public long ByteLength => RowBytes * Rows;
    public QuantFormat Format => QuantFormat.Of(Type);

    internal byte* Data => _data;

    /// <summary>A view over <paramref name="byteLength"/> bytes at <paramref name="data"/>; throws if the matrix does not fit.</summary>
    public WeightView(byte* data, long byteLength, GgmlType type, int rows, int cols) : this(data, byteLength, type, rows, cols, null) { }

    private WeightView(byte* data, long byteLength, GgmlType type, int rows, int cols, object? owner)
    {
        if (!QuantFormat.IsSupported(type))
            throw new NotSupportedException($"tensor type {GgmlTypeInfo.Of(type).Name} is not supported by the kernels");
        var f = QuantFormat.Of(type);
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"weight shape {rows}x{cols} is empty");
        if (cols % f.BlockSize != 0)
            throw new ArgumentException($"{GgmlTypeInfo.Of(type).Name} rows need a multiple of {f.BlockSize} values, got {cols}");
        if (data == null) throw new ArgumentNullException(nameof(data));
        var rowBytes = f.RowBytes(cols);
        var need = checked(rowBytes * rows);
        if (byteLength < need)
            throw new ArgumentException($"{GgmlTypeInfo.Of(type).Name} {rows}x{cols} needs {need} bytes, the view has {byteLength}");
        _data = data;
        _owner = owner;
        Type = type;
        Rows = rows;
        Cols = cols;
        RowBytes = rowBytes;
    }

    /// <summary>
    /// A view at <paramref name="offset"/> inside <paramref name="buffer"/> (a memory-mapped view handle). The
    /// matrix must lie inside the buffer. The buffer must stay open while the view is in use.
    /// </summary>
    public static WeightView FromBuffer(SafeBuffer buffer, long offset, GgmlType type, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var f = QuantFormat.IsSupported(type) ? QuantFormat.Of(type)
            : throw new NotSupportedException($"tensor type {GgmlTypeInfo.Of(type).Name} is not supported by the kernels");
        if (cols <= 0 || cols % f.BlockSize != 0 || rows <= 0)
            throw new ArgumentException($"{GgmlTypeInfo.Of(type).Name} weight shape {rows}x{cols} is not a whole number of blocks per row");
        var need = checked(f.RowBytes(cols) * rows);
        var length = (long)buffer.ByteLength;
        if (offset < 0 || offset > length || length - offset < need)
            throw new ArgumentException($"{GgmlTypeInfo.Of(type).Name} {rows}x{cols} at offset {offset} needs {need} bytes; the buffer has {length}");
        byte* p = null;
        buffer.AcquirePointer(ref p);
        try
        {
            return new WeightView(p + offset, need, type, rows, cols, null);
        }
        finally
        {
            buffer.ReleasePointer();
        }
    }

    /// <summary>A view over a pinned copy of <paramref name="data"/> (tests, small synthetic matrices).</summary>
    public static WeightView FromBytes(ReadOnlySpan<byte> data, GgmlType type, int rows, int cols)
    {
        var copy = GC.AllocateUninitializedArray<byte>(Math.Max(1, data.Length), pinned: true);
        data.CopyTo(copy);
        var p = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(copy, 0);
        return new WeightView(p, data.Length, type, rows, cols, copy);
    }

    /// <summary>The bytes of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<byte> Row(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Rows - 1}");
        return new ReadOnlySpan<byte>(_data + row * RowBytes, checked((int)RowBytes));
    }

    /// <summary>Decodes row <paramref name="row"/> into <paramref name="dst"/> (Cols floats), exactly as ggml does: the embedding lookup.</summary>
    public void DequantizeRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Rows - 1}");
        if (dst.Length != Cols) throw new ArgumentException($"row has {Cols} values, destination {dst.Length}");
        var f = Format;
        fixed (float* d = dst)
            f.DequantizeRow(_data + row * RowBytes, d, Cols / f.BlockSize);
    }
}
