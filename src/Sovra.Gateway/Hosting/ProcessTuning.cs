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
    /// glibc gives threads that allocate at the same time their own malloc arena, up to 8 per core, and keeps
    /// what each arena once held. The gateway's native allocations (SQLite's, OpenSSL's hashing of keys) are
    /// small and short-lived, but spread over the thread pool's changing threads they had RSS creep by ~2 MB
    /// a minute under load with the managed heap and SQLite's own memory flat; with two arenas it stays flat
    /// (bench/gateway/run.sh --soak). Only where malloc is glibc's and MALLOC_ARENA_MAX is not set.
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
}
