using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Model;

/// <summary>An <see cref="IModelSource"/> over an open GGUF file.</summary>
public sealed class GgufModelSource : IModelSource
{
    private readonly GgufFile _file;
    private readonly Func<GgufFile, GgufTensorInfo, IWeightMatrix> _matrix;

    /// <param name="matrix">Makes the weight view of a matrix tensor; by default the bytes are read into memory.</param>
    public GgufModelSource(GgufFile file, Func<GgufFile, GgufTensorInfo, IWeightMatrix>? matrix = null)
    {
        _file = file;
        _matrix = matrix ?? CopyingMatrix;
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

    private static IWeightMatrix CopyingMatrix(GgufFile file, GgufTensorInfo t)
    {
        var bytes = file.TryGetTensorMemory(t, out var mem) ? mem : file.ReadTensorBytes(t);
        return new DequantizingMatrix(t.Name, t.Type, checked((int)t.Rows), checked((int)t.RowLength), bytes);
    }

    public void Dispose() => _file.Dispose();
}
