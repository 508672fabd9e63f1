using System.Runtime.InteropServices;

namespace Sovra.Gateway.Hosting;

/// <summary>
/// Process-wide settings for a process that is only a gateway (<c>sovra gateway</c> applies them before it
/// opens a socket or starts a thread of its own); a gateway hosted inside another app leaves them to it.
/// Each one yields to a value the operator already set in the environment.
/// </summary>
public static class ProcessTuning
{
    /// <summary>The runtime's switch that runs socket completions on the socket threads instead of queueing them to the thread pool.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>glibc malloc arenas the gateway allows itself (see <see cref="LimitMallocArenas"/>).</summary>
    public const int MallocArenas = 2;

    /// <summary>What was applied, for GET /admin/runtime.</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";
    public static int? MallocArenaMax { get; private set; }
    public static bool MallocThresholdsFixed { get; private set; }

    /// <summary>Blocks from this size up are mmapped by glibc and returned to the OS when freed (M_MMAP_THRESHOLD).</summary>
    public const int MallocMmapThreshold = 256 << 10;
    /// <summary>glibc gives the top of a heap back once this much of it is free (M_TRIM_THRESHOLD).</summary>
    public const int MallocTrimThreshold = 1 << 20;

    public static void Apply()
    {
        PreferInlineSocketCompletions();
        LimitMallocArenas();
        FixMallocThresholds();
        // Where libc has no malloc_trim (musl), the first call finds out and turns it off.
        MallocTrimEnabled = OperatingSystem.IsLinux();
    }

    /// <summary>Whether this process returns malloc's free pages to the OS now and then (<see cref="TrimMalloc"/>): a gateway process on glibc.</summary>
    public static bool MallocTrimEnabled { get; private set; }
    /// <summary>How often the gateway's housekeeping trims (the first time a few seconds after start, once start-up's allocations are freed).</summary>
    public static readonly TimeSpan MallocTrimEvery = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MallocTrimFirst = TimeSpan.FromSeconds(5);
    private static long s_trims, s_trimReleased;
    public static long MallocTrims => Interlocked.Read(ref s_trims);
    /// <summary>Resident bytes the trims gave back (the resident set just before minus just after, summed).</summary>
    public static long MallocTrimReleasedBytes => Interlocked.Read(ref s_trimReleased);

    /// <summary>
    /// glibc keeps what its arenas once held: a freed block stays resident until the top of its heap is free,
    /// and the gateway's native allocations (SQLite's, OpenSSL's, the runtime's and the JIT's scratch memory)
    /// are small and come and go on many threads, so the free space sits between live blocks. Over a soak RSS rose
    /// in steps of a few MB with malloc's live bytes flat (glibc's malloc_stats: 18.6 MB held, 7.8 MB in use;
    /// one malloc_trim(0) gave back 11 MB). malloc_trim(0) hands every whole free page in every arena back to the
    /// OS (madvise), taking each arena's lock for the walk of its free lists: well under a millisecond at this size.
    /// </summary>
    public static void TrimMalloc()
    {
        if (!MallocTrimEnabled) return;
        try
        {
            var before = ResidentBytes();
            malloc_trim(0);
            Interlocked.Add(ref s_trimReleased, Math.Max(0, before - ResidentBytes()));
            Interlocked.Increment(ref s_trims);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { MallocTrimEnabled = false; }
    }

    /// <summary>The resident set from /proc/self/statm (its second field, in pages): cheaper than Process.WorkingSet64.</summary>
    private static long ResidentBytes()
    {
        try
        {
            var statm = File.ReadAllText("/proc/self/statm");
            var fields = statm.Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], out var pages) ? pages * Environment.SystemPageSize : 0;
        }
        catch (IOException) { return 0; }
    }

    /// <summary>
    /// Request code runs on the socket threads (one per core) from a socket's completion to its first real
    /// wait, with no hop through the thread pool: on two cores about a fifth more requests per second and a
    /// lower p99. Safe here because nothing on the request path blocks: a cached key is a dictionary hit,
    /// every SQLite call first moves to the thread pool (GatewayStore), the ledger row is one write() into the
    /// page cache (RowLog) or an awaited group commit, and PostgreSQL is awaited. The runtime reads the switch
    /// when the first socket is made. Set it to 0 to turn this off.
    /// </summary>
    public static void PreferInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null) Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }

    /// <summary>
    /// glibc gives each new thread its own malloc arena until there are 8 per core, and keeps what each arena
    /// once held. The gateway's native allocations (SQLite's, OpenSSL's hashing of keys) are small and
    /// short-lived, but spread over the thread pool's changing threads they had RSS creep by ~2 MB a minute
    /// under load with the managed heap and SQLite's own memory flat. mallopt here bounds only the arenas made
    /// from now on: the runtime's threads started before Main have theirs already (a soak found 7), which is
    /// why the `sovra` launcher sets MALLOC_ARENA_MAX=2 for `sovra gateway` before the process starts, and why
    /// the gateway also trims (<see cref="TrimMalloc"/>). Only where malloc is glibc's and MALLOC_ARENA_MAX is not set.
    /// </summary>
    public static void LimitMallocArenas()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { } set)
        {
            MallocArenaMax = int.TryParse(set, out var n) ? n : null; // glibc read it at start
            return;
        }
        try
        {
            if (mallopt(MArenaMax, MallocArenas) == 1) MallocArenaMax = MallocArenas;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl has no arenas to limit)
    }

    /// <summary>
    /// glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MB), after which such
    /// blocks come from the heap and arenas and stay there, and it trims a heap only past a threshold that
    /// rises with it. Fixed thresholds (setting them turns the dynamic rule off) keep large blocks mmapped and
    /// heaps trimmed. They were aimed at RSS stepping up over a soak with SQLite's own count flat; the soak with
    /// them still showed malloc stepping up (docs/gateway.md, third round), so they bound one cause, not all.
    /// Only where malloc is glibc's and neither variable is set.
    /// </summary>
    public static void FixMallocThresholds()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null) return;
        try
        {
            MallocThresholdsFixed = mallopt(MMmapThreshold, MallocMmapThreshold) == 1 & mallopt(MTrimThreshold, MallocTrimThreshold) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    private const int MArenaMax = -8; // M_ARENA_MAX in glibc's malloc.h
    private const int MMmapThreshold = -3, MTrimThreshold = -1; // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
