using Sovra.Gguf;

namespace Sovra.Engine.Model;

/// <summary>A tensor as the file describes it: dims in ggml order (ne0, the contiguous one, first).</summary>
public sealed record TensorDescriptor(string Name, GgmlType Type, long[] Dims)
{
    public string Shape => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// What the engine needs from a model file: typed metadata and tensors. The GGUF reader backs it in
/// production; tests may back it with arrays.
/// </summary>
public interface IModelSource : IDisposable
{
    string Path { get; }
    long FileBytes { get; }
    string? GetString(string key);
    long? GetInteger(string key);
    double? GetFloat(string key);
    /// <summary>Element count of an array-valued key, null when absent.</summary>
    int? GetArrayLength(string key);
    IReadOnlyList<long>? GetIntegerArray(string key);
    TensorDescriptor? FindTensor(string name);
    /// <summary>A matrix over the tensor's bytes in place.</summary>
    IWeightMatrix Matrix(TensorDescriptor tensor);
    /// <summary>A small tensor (norm weights, biases) decoded to floats.</summary>
    float[] ReadFloats(TensorDescriptor tensor);
}
