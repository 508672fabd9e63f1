using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Model;

/// <summary>
/// Looks up the tensors an architecture names and checks each one's presence, shape and type, so that a
/// bad file fails at load with one error naming the tensor.
/// </summary>
public sealed class WeightBinder(IModelSource source, Func<GgmlType, bool> matrixTypeSupported)
{
    public IModelSource Source => source;

    public bool Has(string name) => source.FindTensor(name) != null;

    /// <summary>A [rows, cols] matrix: ggml dims (cols, rows).</summary>
    public IWeightMatrix Matrix(string name, long rows, long cols) =>
        OptionalMatrix(name, rows, cols) ?? throw Missing(name);

    public IWeightMatrix? OptionalMatrix(string name, long rows, long cols)
    {
        var t = source.FindTensor(name);
        if (t == null) return null;
        CheckShape(t, cols, rows);
        if (!matrixTypeSupported(t.Type))
            throw new ModelLoadException($"tensor '{name}' has type {t.Type}, which Sovra cannot compute with");
        return source.Matrix(t);
    }

    public float[] Vector(string name, long length) => OptionalVector(name, length) ?? throw Missing(name);

    public float[]? OptionalVector(string name, long length)
    {
        var t = source.FindTensor(name);
        if (t == null) return null;
        CheckShape(t, length);
        if (!QuantFormats.CanDequantize(t.Type))
            throw new ModelLoadException($"tensor '{name}' has type {t.Type}, which Sovra cannot read");
        return source.ReadFloats(t);
    }

    private static void CheckShape(TensorDescriptor t, params long[] dims)
    {
        var actual = t.Dims.Reverse().SkipWhile(d => d == 1).Reverse().ToArray();
        var expected = dims.Reverse().SkipWhile(d => d == 1).Reverse().ToArray();
        if (!actual.SequenceEqual(expected))
            throw new ModelLoadException($"tensor '{t.Name}' has shape {t.Shape}, expected [{string.Join(", ", dims)}]");
    }

    private ModelLoadException Missing(string name) => new($"tensor '{name}' is missing from {System.IO.Path.GetFileName(source.Path)}");
}
