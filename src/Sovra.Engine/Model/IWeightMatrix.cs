using Sovra.Gguf;

namespace Sovra.Engine.Model;

/// <summary>
/// A weight matrix as ggml stores it: <see cref="Rows"/> rows (outputs) of <see cref="Cols"/> values (inputs),
/// in the file's own type, used in place.
/// </summary>
public interface IWeightMatrix
{
    string Name { get; }
    int Rows { get; }
    int Cols { get; }
    GgmlType Type { get; }

    /// <summary>y = x · Wᵀ. x: [n, Cols], y: [n, Rows]. The weights are read once for all n rows of x.</summary>
    void MatMul(ReadOnlySpan<float> x, int n, Span<float> y, Compute compute);

    /// <summary>Row <paramref name="row"/> as floats (embedding lookup). dst: [Cols].</summary>
    void ReadRow(int row, Span<float> dst);
}
