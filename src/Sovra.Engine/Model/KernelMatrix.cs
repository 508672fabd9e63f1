using Sovra.Gguf;
using Sovra.Kernels;

namespace Sovra.Engine.Model;

/// <summary>A weight matrix in place in the mapped file, multiplied by the kernels (activations quantised as ggml does).</summary>
public sealed class KernelMatrix(string name, WeightView view) : IWeightMatrix
{
    private readonly WeightView _view = view;

    public string Name { get; } = name;
    public int Rows => _view.Rows;
    public int Cols => _view.Cols;
    public GgmlType Type => _view.Type;
    internal WeightView View => _view;

    public void MatMul(ReadOnlySpan<float> x, int n, Span<float> y, Compute compute) =>
        compute.MatMul.MatMat(_view, x, n, y);

    public void ReadRow(int row, Span<float> dst) => _view.DequantizeRow(row, dst[..Cols]);
}
