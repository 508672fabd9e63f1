using Sovra.Gguf;
using Sovra.Kernels.Formats;

namespace Sovra.Engine.Model;

/// <summary>Which tensor types the engine can multiply with.</summary>
public static class Weights
{
    public static bool IsSupported(GgmlType type) => QuantFormats.CanDequantize(type);
}
