// Kernel benchmark: GB/s of weights streamed by MatVec and GFLOP/s of MatMat at the Qwen3-0.6B shapes,
// next to a plain memory-read loop over a buffer larger than L3 measured in the same run.
//   dotnet run -c Release --project bench/kernels -- [--threads 1,2] [--types Q8_0,Q4_K] [--tokens 512] [--quick]
using System.Diagnostics;
using System.Runtime.Intrinsics;
using Sovra.Gguf;
using Sovra.Kernels;
using Sovra.Kernels.Formats;
using Sovra.Kernels.Simd;

var threadCounts = new[] { 1, 2 };
var types = new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
    GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K };
var tokens = 512;
var quick = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads": threadCounts = args[++i].Split(',').Select(int.Parse).ToArray(); break;
        case "--types": types = args[++i].Split(',').Select(s => GgmlTypeInfo.TryParse(s, out var t) ? t.Type : throw new ArgumentException($"unknown type {s}")).ToArray(); break;
        case "--tokens": tokens = int.Parse(args[++i]); break;
        case "--quick": quick = true; break;
        case "--micro": Micro.Run(args[++i].Split(',')); return;
        default: throw new ArgumentException($"unknown option {args[i]}");
    }
}

Console.WriteLine($"kernels: {KernelDispatch.Describe(KernelDispatch.Best)}; {Environment.ProcessorCount} logical CPUs; .NET {Environment.Version}");
// (rows, cols): ffn_up/gate 1024→3072, ffn_down 3072→1024, output head 1024→151936.
var shapes = new (string Name, int Rows, int Cols)[] { ("ffn_up 3072x1024", 3072, 1024), ("ffn_down 1024x3072", 1024, 3072), ("head 151936x1024", 151936, 1024) };
var minSeconds = quick ? 0.3 : 1.0;

foreach (var threads in threadCounts)
{
    using var pool = new KernelThreadPool(threads);
    using var mm = new MatMul(pool);
    var anchor = Bandwidth.Measure(pool, minSeconds);
    Console.WriteLine();
    Console.WriteLine($"== {threads} thread(s): memory read anchor {anchor.Wall:F1} GB/s wall, {anchor.Cpu:F1} GB/s per busy-thread-time (Σ over 512 MiB)");
    Console.WriteLine("   'wall' = bytes or flops per elapsed second; 'cpu' = per second of this process's CPU time x threads,");
    Console.WriteLine("   which stays meaningful when other processes share the cores. Ratios are against the anchor measured the same way.");
    Console.WriteLine($"{"type",-6} {"shape",-20} {"GB/s",8} {"GB/s cpu",8} {"×anch",6} {"×anch c",6} {"GFLOP/s",8} {"GF/s cpu",8} {"n",5}");
    foreach (var type in types)
        foreach (var (name, rows, cols) in shapes)
        {
            var set = WeightSet.Create(type, rows, cols);
            var x = Data.Floats(cols * tokens, 7);
            // Decode: cycle through copies totalling more than L3, so every call streams from memory.
            var yv = new float[rows];
            var calls = 0;
            var (wall, cpu) = Timer.Measure(() => { mm.MatVec(set.Views[calls % set.Views.Length], x.AsSpan(0, cols), yv); calls++; }, minSeconds);
            var gbs = set.Views[0].ByteLength / wall / 1e9;
            var gbsCpu = set.Views[0].ByteLength / cpu / 1e9 * threads;
            // Prompt: n tokens at once (fewer for the head, whose product takes seconds).
            var n = rows > 100_000 ? Math.Min(tokens, 64) : tokens;
            var yb = new float[(long)n * rows];
            mm.MatMat(set.Views[0], x.AsSpan(0, n * cols), n, yb); // warm: buffers grown, code jitted
            var (mwall, mcpu) = Timer.Measure(() => mm.MatMat(set.Views[0], x.AsSpan(0, n * cols), n, yb), minSeconds);
            var gflops = 2.0 * rows * cols * n / mwall / 1e9;
            var gflopsCpu = 2.0 * rows * cols * n / mcpu / 1e9 * threads;
            Console.WriteLine($"{GgmlTypeInfo.Of(type).Name,-6} {name,-20} {gbs,8:F1} {gbsCpu,8:F1} {gbs / anchor.Wall,6:F2} {gbsCpu / anchor.Cpu,6:F2} {gflops,8:F1} {gflopsCpu,8:F1} {n,5}");
        }
}

/// <summary>Weight matrices with valid random blocks (speed does not depend on the values), enough copies to exceed L3.</summary>
sealed class WeightSet
{
    public required WeightView[] Views { get; init; }

    public static WeightSet Create(GgmlType type, int rows, int cols)
    {
        var f = QuantFormat.Of(type);
        var bytes = f.RowBytes(cols) * rows;
        var copies = (int)Math.Max(1, Math.Min(16, (96L << 20) / bytes + 1));
        var pattern = Data.Blocks(type, cols);
        var views = new WeightView[copies];
        for (var c = 0; c < copies; c++)
        {
            var buf = new byte[bytes];
            for (long o = 0; o < bytes; o += pattern.Length)
                Array.Copy(pattern, 0, buf, o, Math.Min(pattern.Length, bytes - o));
            // Vary the copies a little so no two are identical pages.
            buf[c % buf.Length] ^= 1;
            views[c] = WeightView.FromBytes(buf, type, rows, cols);
        }
        return new WeightSet { Views = views };
    }
}

static class Data
{
    public static float[] Floats(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (var i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>One row's worth of encoded blocks, quantized from random values (so scales are realistic).</summary>
    public static byte[] Blocks(GgmlType type, int cols)
    {
        var f = QuantFormat.Of(type);
        var values = Floats(cols, 3);
        for (var i = 0; i < values.Length; i++) values[i] *= 0.05f;
        var row = new byte[f.RowBytes(cols)];
        QuantFormats.Quantize(type, values, row);
        // 16 distinct rows repeated: cheap to make, and big enough that rows do not all hit one cache line.
        var rows = new byte[row.Length * 16];
        for (var r = 0; r < 16; r++)
        {
            Floats(cols, 10 + r).AsSpan().CopyTo(values);
            for (var i = 0; i < values.Length; i++) values[i] *= 0.05f;
            QuantFormats.Quantize(type, values, rows.AsSpan(r * row.Length, row.Length));
        }
        return rows;
    }
}

static class Bandwidth
{
    /// <summary>GB/s of a vectorised sum over 512 MiB, split across the pool's threads.</summary>
    public static (double Wall, double Cpu) Measure(KernelThreadPool pool, double minSeconds)
    {
        const long words = (512L << 20) / 8;
        var buf = GC.AllocateUninitializedArray<ulong>((int)words);
        var rng = new Random(1);
        for (var i = 0; i < buf.Length; i++) buf[i] = (ulong)rng.NextInt64();
        var job = new SumJob { Buf = buf, Parts = pool.Threads * 8 };
        pool.Run(job, job.Parts);
        var (wall, cpu) = Timer.Measure(() => pool.Run(job, job.Parts), minSeconds);
        return (words * 8.0 / wall / 1e9, words * 8.0 / cpu / 1e9 * pool.Threads);
    }

    private sealed class SumJob : IParallelJob
    {
        public required ulong[] Buf;
        public int Parts;
        public long Sink;

        public void Execute(int index, int worker)
        {
            var len = Buf.Length / Parts;
            ref var p = ref Buf[index * len];
            Vector256<ulong> s0 = default, s1 = default, s2 = default, s3 = default;
            for (nuint i = 0; i + 16 <= (nuint)len; i += 16)
            {
                s0 += Vector256.LoadUnsafe(ref p, i);
                s1 += Vector256.LoadUnsafe(ref p, i + 4);
                s2 += Vector256.LoadUnsafe(ref p, i + 8);
                s3 += Vector256.LoadUnsafe(ref p, i + 12);
            }
            Interlocked.Add(ref Sink, (long)Vector256.Sum(s0 + s1 + s2 + s3));
        }
    }
}

static class Timer
{
    /// <summary>Seconds per call, by the wall clock and by this process's CPU time.</summary>
    public static (double Wall, double Cpu) Measure(Action call, double minSeconds)
    {
        var proc = Process.GetCurrentProcess();
        var calls = 0;
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        do { call(); calls++; } while (sw.Elapsed.TotalSeconds < minSeconds || calls < 3);
        var wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        var cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
        return (wall / calls, Math.Max(cpu, 1e-9) / calls);
    }
}

/// <summary>Cache-resident kernel timing (ns per block of CPU time), for tuning a kernel without memory effects.</summary>
static class Micro
{
    public static void Run(string[] names)
    {
        using var pool = new KernelThreadPool(1);
        foreach (var name in names)
        {
            if (!GgmlTypeInfo.TryParse(name, out var info)) throw new ArgumentException($"unknown type {name}");
            var f = QuantFormat.Of(info.Type);
            foreach (var path in new[] { KernelPath.Avx512, KernelPath.Avx2, KernelPath.Vector128, KernelPath.Scalar })
            {
                if (!KernelDispatch.IsAvailable(path)) continue;
                using var mm = new MatMul(pool, path);
                const int rows = 64, cols = 2048;
                var w = WeightView.FromBytes(Data.Blocks(info.Type, cols).AsSpan(0, checked((int)f.RowBytes(cols) * 16)).ToArray()
                    .Concat(new byte[0]).ToArray().AsSpan().ToArray().Concat(Data.Blocks(info.Type, cols)).Concat(Data.Blocks(info.Type, cols)).Concat(Data.Blocks(info.Type, cols)).ToArray(), info.Type, rows, cols);
                var x = Data.Floats(cols * 64, 1);
                var y = new float[rows * 64];
                var (_, cpu) = Timer.Measure(() => mm.MatVec(w, x.AsSpan(0, cols), y.AsSpan(0, rows)), 0.4);
                var blocks = rows * (cols / f.BlockSize);
                var (_, cpuMM) = Timer.Measure(() => mm.MatMat(w, x, 64, y), 0.4);
                Console.WriteLine($"{info.Name,-6} {path,-9} matvec {cpu / blocks * 1e9,7:F2} ns/block  matmat(64) {cpuMM / blocks / 64 * 1e9,7:F3} ns/block/token");
            }
        }
    }
}
