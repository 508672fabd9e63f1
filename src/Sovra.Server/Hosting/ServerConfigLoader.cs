using System.Globalization;
using System.Text.Json;

namespace Sovra.Server.Hosting;

/// <summary>
/// Builds <see cref="ServerOptions"/> from, lowest first: the defaults, a JSON file (~/.sovra/serve.json
/// when present, or the one named by --config / SOVRA_CONFIG), environment variables SOVRA_*, and the
/// command-line flags. Every problem found is collected, so one start-up reports them all.
/// </summary>
public static class ServerConfigLoader
{
    /// <summary>Setting name (as in the file and after SOVRA_) and how to apply a string value.</summary>
    private static readonly (string Key, string Env, Func<ServerOptions, string, ServerOptions> Apply)[] Settings =
    [
        ("host", "SOVRA_HOST", (o, v) => o with { Host = v }),
        ("port", "SOVRA_PORT", (o, v) => o with { Port = Int(v, "port") }),
        ("models_dir", "SOVRA_MODELS_DIR", (o, v) => o with { ModelsDir = ExpandHome(v) }),
        ("context_length", "SOVRA_CONTEXT_LENGTH", (o, v) => o with { ContextLength = Int(v, "context_length") }),
        ("parallel", "SOVRA_PARALLEL", (o, v) => o with { Parallel = Int(v, "parallel") }),
        ("max_queue", "SOVRA_MAX_QUEUE", (o, v) => o with { MaxQueue = Int(v, "max_queue") }),
        ("max_n", "SOVRA_MAX_N", (o, v) => o with { MaxN = Int(v, "max_n") }),
        ("max_batch_tokens", "SOVRA_MAX_BATCH_TOKENS", (o, v) => o with { MaxBatchTokens = Int(v, "max_batch_tokens") }),
        ("prefill_chunk", "SOVRA_PREFILL_CHUNK", (o, v) => o with { PrefillChunk = Int(v, "prefill_chunk") }),
        ("prefix_cache", "SOVRA_PREFIX_CACHE", (o, v) => o with { PrefixCache = Bool(v, "prefix_cache") }),
        ("memory_budget", "SOVRA_MEMORY_BUDGET", (o, v) => o with { MemoryBudgetBytes = Size(v, "memory_budget") }),
        ("shutdown_timeout", "SOVRA_SHUTDOWN_TIMEOUT", (o, v) => o with { ShutdownTimeout = TimeSpan.FromSeconds(Double(v, "shutdown_timeout")) }),
        ("separate_reasoning", "SOVRA_SEPARATE_REASONING", (o, v) => o with { SeparateReasoning = Bool(v, "separate_reasoning") }),
        ("threads", "SOVRA_THREADS", (o, v) => o with { Threads = Int(v, "threads") }),
    ];

    public static IEnumerable<string> Keys => Settings.Select(s => s.Key);

    /// <summary>Loads and validates. <paramref name="flags"/> holds the settings given on the command line, by key.</summary>
    public static (ServerOptions Options, IReadOnlyList<string> Errors) Load(string? configFile, IReadOnlyDictionary<string, string> flags,
        IReadOnlyList<string> extraModels, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var errors = new List<string>();
        var o = new ServerOptions();

        configFile ??= env("SOVRA_CONFIG");
        var explicitFile = configFile != null;
        configFile ??= ServerOptions.DefaultConfigFile;
        if (File.Exists(configFile)) o = ApplyFile(o, configFile, errors);
        else if (explicitFile) errors.Add($"config file {configFile} does not exist");

        foreach (var (key, name, apply) in Settings)
            if (env(name) is { Length: > 0 } v) o = Try(o, apply, v, $"environment variable {name}", errors);
        foreach (var (key, v) in flags)
        {
            var setting = Settings.FirstOrDefault(s => s.Key == key);
            if (setting.Apply == null) errors.Add($"unknown setting '{key}'");
            else o = Try(o, setting.Apply, v, "--" + key.Replace('_', '-'), errors);
        }
        if (extraModels.Count > 0) o = o with { Models = o.Models.Concat(extraModels).ToList() };
        errors.AddRange(Validate(o));
        return (o, errors);
    }

    public static IReadOnlyList<string> Validate(ServerOptions o)
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Host)) e.Add("host is empty");
        else if (o.Host != "localhost" && !System.Net.IPAddress.TryParse(o.Host, out _) && Uri.CheckHostName(o.Host) == UriHostNameType.Unknown)
            e.Add($"host '{o.Host}' is neither an IP address nor a host name");
        if (o.Port is < 0 or > 65535) e.Add($"port {o.Port} is outside 0..65535");
        if (o.ContextLength is < 0 or > 1 << 20) e.Add($"context_length {o.ContextLength} is outside 0..1048576 (0: the model's own)");
        if (o.Parallel is < 1 or > 256) e.Add($"parallel {o.Parallel} is outside 1..256");
        if (o.MaxQueue is < 0 or > 100_000) e.Add($"max_queue {o.MaxQueue} is outside 0..100000");
        if (o.MaxN is < 1 or > 128) e.Add($"max_n {o.MaxN} is outside 1..128");
        if (o.MaxBatchTokens is < 1 or > 65536) e.Add($"max_batch_tokens {o.MaxBatchTokens} is outside 1..65536");
        if (o.PrefillChunk < 1 || o.PrefillChunk > o.MaxBatchTokens) e.Add($"prefill_chunk {o.PrefillChunk} must be between 1 and max_batch_tokens ({o.MaxBatchTokens})");
        if (o.MemoryBudgetBytes < 1 << 20) e.Add($"memory_budget {o.MemoryBudgetBytes} bytes is below 1 MiB");
        if (o.ShutdownTimeout < TimeSpan.Zero || o.ShutdownTimeout > TimeSpan.FromHours(1)) e.Add($"shutdown_timeout {o.ShutdownTimeout.TotalSeconds} s is outside 0..3600 s");
        if (o.Threads is < 1 or > 1024) e.Add($"threads {o.Threads} is outside 1..1024");
        if (File.Exists(o.ModelsDir)) e.Add($"models_dir {o.ModelsDir} is a file, not a folder");
        foreach (var m in o.Models)
        {
            if (!File.Exists(m)) e.Add($"model file {m} does not exist");
            else if (!m.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) e.Add($"model file {m} is not a .gguf file");
        }
        return e;
    }

    private static ServerOptions ApplyFile(ServerOptions o, string path, List<string> errors)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            errors.Add($"config file {path}: {e.Message}");
            return o;
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) { errors.Add($"config file {path}: the top level must be an object"); return o; }
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "models")
                {
                    if (p.Value.ValueKind != JsonValueKind.Array || p.Value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                        errors.Add($"config file {path}: 'models' must be an array of file paths");
                    else o = o with { Models = p.Value.EnumerateArray().Select(v => ExpandHome(v.GetString()!)).ToList() };
                    continue;
                }
                var setting = Settings.FirstOrDefault(s => s.Key == p.Name);
                if (setting.Apply == null) { errors.Add($"config file {path}: unknown setting '{p.Name}' (known: {string.Join(", ", Keys)}, models)"); continue; }
                var text = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                    _ => null,
                };
                if (text == null) errors.Add($"config file {path}: '{p.Name}' must be a string, number or boolean");
                else o = Try(o, setting.Apply, text, $"config file {path}", errors);
            }
        }
        return o;
    }

    private static ServerOptions Try(ServerOptions o, Func<ServerOptions, string, ServerOptions> apply, string value, string where, List<string> errors)
    {
        try { return apply(o, value); }
        catch (FormatException e) { errors.Add($"{where}: {e.Message}"); return o; }
    }

    private static int Int(string v, string key) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new FormatException($"{key} '{v}' is not an integer");

    private static double Double(string v, string key) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new FormatException($"{key} '{v}' is not a number");

    private static bool Bool(string v, string key) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => throw new FormatException($"{key} '{v}' is not true or false"),
    };

    /// <summary>Bytes, with an optional K/M/G/T suffix (powers of 1024): 512M, 16G.</summary>
    public static long Size(string v, string key)
    {
        var s = v.Trim().ToUpperInvariant().TrimEnd('B').TrimEnd('I');
        long mult = 1;
        if (s.Length > 0 && "KMGT".Contains(s[^1]))
        {
            mult = 1L << (10 * ("KMGT".IndexOf(s[^1]) + 1));
            s = s[..^1];
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d < 0 || d * mult > long.MaxValue)
            throw new FormatException($"{key} '{v}' is not a size (e.g. 16G, 512M)");
        return (long)(d * mult);
    }

    private static string ExpandHome(string p) =>
        p.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), p[2..]) : p;
}
