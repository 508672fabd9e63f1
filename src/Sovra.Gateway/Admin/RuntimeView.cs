using SQLitePCL;

namespace Sovra.Gateway.Admin;

/// <summary>
/// GET /admin/runtime: what the gateway process holds in memory, by who holds it — the resident set, the
/// managed heap, SQLite's own allocations (its page caches above all) and the threads — so that an operator
/// (and bench/gateway/run.sh --soak) can tell a leak from a cache that fills up to its bound.
/// </summary>
internal static class RuntimeView
{
    public static object Snapshot()
    {
        Batteries_V2.Init(); // SQLite may not be loaded yet (a PostgreSQL ledger): its counters then read zero
        var gc = GC.GetGCMemoryInfo();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return new
        {
            rss_bytes = self.WorkingSet64,
            gc_heap_bytes = gc.HeapSizeBytes,
            gc_committed_bytes = gc.TotalCommittedBytes,
            gc_count = GC.CollectionCount(0),
            gc_pause_total_ms = GC.GetTotalPauseDuration().TotalMilliseconds,
            gc_allocated_bytes = GC.GetTotalAllocatedBytes(),
            sqlite_bytes = raw.sqlite3_memory_used(),
            sqlite_highwater_bytes = raw.sqlite3_memory_highwater(0),
            sqlite_heap_limit_bytes = raw.sqlite3_soft_heap_limit64(-1),
            // At a steady load the count still creeps up for minutes, as periodic work (Kestrel's heartbeat, the
            // checkpoint, timers) reaches its tier-up counts; a rise that keeps pace with the requests would mean
            // code generated per request (a leak).
            jit_compiled_methods = System.Runtime.JitInfo.GetCompiledMethodCount(),
            jit_compiled_il_bytes = System.Runtime.JitInfo.GetCompiledILBytes(),
            threads = self.Threads.Count,
            thread_pool_threads = ThreadPool.ThreadCount,
            server_gc = System.Runtime.GCSettings.IsServerGC,
            inline_socket_completions = Hosting.ProcessTuning.InlineCompletions,
            malloc_arena_max = Hosting.ProcessTuning.MallocArenaMax,
            malloc_thresholds_fixed = Hosting.ProcessTuning.MallocThresholdsFixed,
            malloc_trim_enabled = Hosting.ProcessTuning.MallocTrimEnabled,
            malloc_trims = Hosting.ProcessTuning.MallocTrims,
            malloc_trim_released_bytes = Hosting.ProcessTuning.MallocTrimReleasedBytes,
        };
    }
}
