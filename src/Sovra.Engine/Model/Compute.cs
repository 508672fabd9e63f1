using Sovra.Kernels;

namespace Sovra.Engine.Model;

/// <summary>
/// The threads of one context: the kernels' persistent worker pool and the matrix-product engine bound to it
/// (which owns the reusable activation buffers). One forward pass at a time.
/// </summary>
public sealed class Compute : IDisposable
{
    public Compute(int threads)
    {
        Threads = threads <= 0 ? Environment.ProcessorCount : threads;
        Pool = new KernelThreadPool(Threads);
        MatMul = new MatMul(Pool);
    }

    public int Threads { get; }
    public KernelThreadPool Pool { get; }
    public MatMul MatMul { get; }

    public void Run(IParallelJob job, int count) => Pool.Run(job, count);

    /// <summary>
    /// y_i = x · W_iᵀ for two or three matrices over the same input (Q, K, V; gate, up): one quantization and one
    /// run of the kernels where they allow it (<see cref="MatMul.MatMatShared"/>), else one product after another.
    /// </summary>
    public void MatMulShared(IWeightMatrix a, IWeightMatrix b, IWeightMatrix? c, ReadOnlySpan<float> x, int n,
        Span<float> ya, Span<float> yb, Span<float> yc)
    {
        if (a is KernelMatrix ka && b is KernelMatrix kb && (c == null || c is KernelMatrix))
        {
            var kc = c as KernelMatrix;
            MatMul.MatMatShared(ka.View, kb.View, kc != null ? kc.View : ka.View, kc != null, x, n, ya, yb, yc);
            return;
        }
        a.MatMul(x, n, ya, this);
        b.MatMul(x, n, yb, this);
        c?.MatMul(x, n, yc, this);
    }

    public void Dispose()
    {
        MatMul.Dispose();
        Pool.Dispose();
    }
}
