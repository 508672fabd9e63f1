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

    public void Dispose()
    {
        MatMul.Dispose();
        Pool.Dispose();
    }
}
