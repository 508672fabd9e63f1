namespace Sovra.Server.Hosting;

/// <summary>Everything `sovra serve` can be told, with the defaults that make it work with no configuration.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8080;
    public string ModelsDir { get; init; } = DefaultModelsDir;
    /// <summary>Extra model files served besides those in <see cref="ModelsDir"/>.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
    /// <summary>Positions per sequence; 0 means the model's own context length, capped at 32768.</summary>
    public int ContextLength { get; init; } = 4096;
    /// <summary>Sequences a model runs at once; its KV pool holds Parallel × ContextLength cells.</summary>
    public int Parallel { get; init; } = 8;
    /// <summary>Requests that may wait for a free sequence before new ones get 429.</summary>
    public int MaxQueue { get; init; } = 64;
    /// <summary>Largest n (choices per request).</summary>
    public int MaxN { get; init; } = 8;
    public int MaxBatchTokens { get; init; } = 512;
    public int PrefillChunk { get; init; } = 256;
    public bool PrefixCache { get; init; } = true;
    /// <summary>Memory the loaded models may hold together (weights + KV); the least recently used is unloaded first.</summary>
    public long MemoryBudgetBytes { get; init; } = DefaultMemoryBudget();
    /// <summary>How long running streams may go on after SIGTERM before they are cut.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Return a reasoning model's thinking in reasoning_content (true) or inline in content (false).</summary>
    public bool SeparateReasoning { get; init; } = true;
    public int Threads { get; init; } = Environment.ProcessorCount;

    public static string SovraHome =>
        Environment.GetEnvironmentVariable("SOVRA_HOME") is { Length: > 0 } h ? h : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".sovra");

    public static string DefaultModelsDir => Path.Combine(SovraHome, "models");

    public static string DefaultConfigFile => Path.Combine(SovraHome, "serve.json");

    private static long DefaultMemoryBudget()
    {
        var total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total * 8 / 10 : 8L << 30;
    }
}
