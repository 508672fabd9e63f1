using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Sovra.Kernels;

/// <summary>A unit of parallel work: <see cref="Execute"/> is called once for every index of a run, from any worker.</summary>
public interface IParallelJob
{
    /// <param name="index">The work item, 0 ≤ index &lt; count.</param>
    /// <param name="worker">Which thread runs it (0 = the caller), for per-thread scratch.</param>
    void Execute(int index, int worker);
}

/// <summary>
/// Persistent workers for the kernels, like llama.cpp's threadpool: each run wakes them (they spin briefly after
/// a run, so back-to-back matrix products start at once, then sleep), the caller works too, and items are
/// claimed one at a time so a descheduled core does not stall the rest. A run allocates nothing.
/// Runs are serialised: one <see cref="Run"/> at a time per pool.
/// </summary>
public sealed class KernelThreadPool : IDisposable
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs of polling before sleeping

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim[] _wake;
    private readonly int[] _sleeping;
    private readonly Lock _runLock = new();
    private IParallelJob? _job;
    private int _count;
    private int _next;
    private int _remaining;
    private int _generation;
    private volatile bool _disposed;
    private Exception? _error;

    /// <param name="threads">Threads including the caller; 0 means one per logical CPU.</param>
    public KernelThreadPool(int threads = 0)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), "thread count cannot be negative");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        _workers = new Thread[Threads - 1];
        _wake = new SemaphoreSlim[Threads - 1];
        _sleeping = new int[Threads - 1];
        for (var i = 0; i < _workers.Length; i++)
        {
            _wake[i] = new SemaphoreSlim(0);
            var id = i;
            _workers[i] = new Thread(() => WorkerLoop(id)) { IsBackground = true, Name = $"sovra-kernel-{i + 1}" };
            _workers[i].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs <paramref name="job"/> for indices 0..count-1 on all threads and returns when every one is done.</summary>
    public void Run(IParallelJob job, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) return;
        if (_workers.Length == 0 || count == 1)
        {
            for (var i = 0; i < count; i++) job.Execute(i, 0);
            return;
        }
        lock (_runLock)
        {
            _job = job;
            _count = count;
            _next = 0;
            _error = null;
            _remaining = _workers.Length;
            Interlocked.Increment(ref _generation);
            for (var i = 0; i < _workers.Length; i++)
                if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
            Work(0);
            var spin = new SpinWait();
            while (Volatile.Read(ref _remaining) != 0) spin.SpinOnce(-1);
            _job = null;
            if (_error is { } e) ExceptionDispatchInfo.Throw(e);
        }
    }

    private void Work(int worker)
    {
        var job = _job!;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count)
        {
            try { job.Execute(i, worker); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
        }
    }

    private void WorkerLoop(int id)
    {
        var seen = 0;
        while (true)
        {
            if (!WaitForRun(id, seen)) return;
            seen = Volatile.Read(ref _generation);
            Work(id + 1);
            Interlocked.Decrement(ref _remaining);
        }
    }

    private bool WaitForRun(int id, int seen)
    {
        var start = Stopwatch.GetTimestamp();
        var spins = 0;
        while (Volatile.Read(ref _generation) == seen)
        {
            if (_disposed) return false;
            if (++spins % 64 == 0 && Stopwatch.GetTimestamp() - start > SpinTicks)
            {
                Interlocked.Exchange(ref _sleeping[id], 1); // a full fence: the generation read below cannot move above it
                if (Volatile.Read(ref _generation) != seen || _disposed)
                {
                    // Raced with a run (or disposal): whoever cleared the flag has released the semaphore.
                    if (Interlocked.Exchange(ref _sleeping[id], 0) == 0) _wake[id].Wait();
                }
                else
                {
                    _wake[id].Wait();
                }
                start = Stopwatch.GetTimestamp();
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
        return !_disposed;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (var i = 0; i < _workers.Length; i++)
            if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
        foreach (var t in _workers) t.Join();
        foreach (var s in _wake) s.Dispose();
    }
}
