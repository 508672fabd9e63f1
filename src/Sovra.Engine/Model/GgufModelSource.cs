using Sovra.Gguf;
using Sovra.Kernels;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Model;

/// <summary>An <see cref="IModelSource"/> over an open GGUF file.</summary>
public sealed class GgufModelSource : IModelSource
{
    private readonly GgufFile _file;
    private readonly Func<GgufFile, GgufTensorInfo, IWeightMatrix> _matrix;

    /// <param name="matrix">Makes the weight view of a matrix tensor; by default a kernel view in place in the mapping.</param>
    public GgufModelSource(GgufFile file, Func<GgufFile, GgufTensorInfo, IWeightMatrix>? matrix = null)
    {
        _file = file;
        _matrix = matrix ?? MappedMatrix;
    }

    public static GgufModelSource Open(string path, Func<GgufFile, GgufTensorInfo, IWeightMatrix>? matrix = null)
    {
        if (!System.IO.File.Exists(path)) throw new ModelLoadException($"model file '{path}' does not exist");
        return new GgufModelSource(GgufFile.Open(path), matrix);
    }

    public GgufFile File => _file;
    public string Path => _file.Path ?? "memory.gguf";
    public long FileBytes => _file.FileBytes;

    public string? GetString(string key) => _file.Metadata.TryGetString(key, out var s) ? s : null;
    public long? GetInteger(string key) => _file.Metadata.TryGetInt64(key, out var v) ? v : null;
    public double? GetFloat(string key) => _file.Metadata.TryGetDouble(key, out var v) ? v : null;

    public int? GetArrayLength(string key) =>
        _file.Metadata.TryGetValue(key, out var v) && v.IsArray ? v.ArrayLength : null;

    public IReadOnlyList<long>? GetIntegerArray(string key) =>
        _file.Metadata.TryGetInt32Array(key, out var a) ? a.Select(x => (long)x).ToArray() : null;

    public TensorDescriptor? FindTensor(string name) =>
        _file.FindTensor(name) is { } t ? new TensorDescriptor(t.Name, t.Type, t.Dimensions) : null;

    public IWeightMatrix Matrix(TensorDescriptor tensor) => _matrix(_file, _file.FindTensor(tensor.Name)!);

    public float[] ReadFloats(TensorDescriptor tensor)
    {
        var t = _file.FindTensor(tensor.Name)!;
        var dst = new float[t.Elements];
        QuantFormats.Dequantize(t.Type, _file.ReadTensorBytes(t), dst);
        return dst;
    }

    private static IWeightMatrix MappedMatrix(GgufFile file, GgufTensorInfo t)
    {
        int rows = checked((int)t.Rows), cols = checked((int)t.RowLength);
        if (file.Mapping is { } m)
            return new KernelMatrix(t.Name, WeightView.FromBuffer(m.ViewHandle, m.PointerOffset + t.DataOffset, t.Type, rows, cols));
        // A file parsed from memory: the kernels get a pinned copy.
        var bytes = file.TryGetTensorMemory(t, out var mem) ? mem.ToArray() : file.ReadTensorBytes(t);
        return new KernelMatrix(t.Name, WeightView.FromBytes(bytes, t.Type, rows, cols));
    }

    public void Dispose() => _file.Dispose();
}
