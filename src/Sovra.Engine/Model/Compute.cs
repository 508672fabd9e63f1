namespace Sovra.Engine.Model;

/// <summary>How many threads the forward pass uses, and the loop that spreads work over them.</summary>
public sealed class Compute
{
    private readonly ParallelOptions _options;

    public Compute(int threads)
    {
        Threads = threads <= 0 ? Environment.ProcessorCount : threads;
        _options = new ParallelOptions { MaxDegreeOfParallelism = Threads };
    }

    public int Threads { get; }

    /// <summary>Runs body(worker, start, end) over [0, count) in <see cref="Threads"/> contiguous parts.</summary>
    public void For(int count, Action<int, int, int> body)
    {
        if (count <= 0) return;
        var parts = Math.Min(Threads, count);
        if (parts == 1) { body(0, 0, count); return; }
        Parallel.For(0, parts, _options, w =>
        {
            var start = (int)((long)count * w / parts);
            var end = (int)((long)count * (w + 1) / parts);
            body(w, start, end);
        });
    }

    /// <summary>Runs body(worker, item) for items [0, count), dealt round-robin to Threads workers.</summary>
    public void ForEach(int count, Action<int, int> body)
    {
        if (count <= 0) return;
        var parts = Math.Min(Threads, count);
        if (parts == 1) { for (var i = 0; i < count; i++) body(0, i); return; }
        Parallel.For(0, parts, _options, w =>
        {
            for (var i = w; i < count; i += parts) body(w, i);
        });
    }
}
