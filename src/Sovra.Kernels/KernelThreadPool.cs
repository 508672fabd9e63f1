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
/// claimed one at a time. A run ends when its items are done, not when every worker has checked in, so a
/// worker the OS has descheduled delays nothing it has not claimed: the claim counter carries the run's
/// generation, and a late worker's claim on a finished run fails. A run allocates nothing.
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
    private long _next;      // generation << 32 | next index to claim
    private int _done;       // items finished in this run
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
            var gen = _generation + 1;
            // Order matters: the claim counter first, then job and count, then the generation. A worker that
            // sees this run's job or count therefore sees this run's counter and cannot claim for an older run.
            _done = 0;
            _error = null;
            Volatile.Write(ref _next, (long)gen << 32);
            Volatile.Write(ref _job, job);
            Volatile.Write(ref _count, count);
            Volatile.Write(ref _generation, gen);
            for (var i = 0; i < _workers.Length; i++)
                if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
            Work(0, gen, job, count);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) != count) spin.SpinOnce(-1);
            if (_error is { } e) ExceptionDispatchInfo.Throw(e);
        }
    }

    private void Work(int worker, int gen, IParallelJob job, int count)
    {
        while (true)
        {
            var v = Volatile.Read(ref _next);
            if ((int)(v >> 32) != gen) return;           // a later run has begun; this one is over
            var i = (int)(v & 0xffffffff);
            if (i >= count) return;
            if (Interlocked.CompareExchange(ref _next, v + 1, v) != v) continue;
            try { job.Execute(i, worker); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            Interlocked.Increment(ref _done);
        }
    }

    private void WorkerLoop(int id)
    {
        var seen = 0;
        while (true)
        {
            if (!WaitForRun(id, seen)) return;
            seen = Volatile.Read(ref _generation);
            // Read after the generation: Run publishes job and count before it bumps the generation. If a newer
            // run has replaced them meanwhile, the generation check on every claim turns this pass into a no-op.
            var job = Volatile.Read(ref _job);
            var count = Volatile.Read(ref _count);
            if (job != null) Work(id + 1, seen, job, count);
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
