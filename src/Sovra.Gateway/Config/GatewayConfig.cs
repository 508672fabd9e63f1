namespace Sovra.Gateway.Config;

/// <summary>The whole gateway configuration, validated. Immutable: a reload builds a new one and swaps it in.</summary>
public sealed record GatewayConfig(
    ListenConfig Listen,
    AdminConfig Admin,
    LedgerConfig Ledger,
    RetryConfig Retry,
    BreakerConfig Breaker,
    LimitsConfig Limits,
    IReadOnlyList<BackendConfig> Backends,
    IReadOnlyList<RouteConfig> Routes,
    IReadOnlyList<TenantConfig> Tenants)
{
    public BackendConfig? Backend(string name) => Backends.FirstOrDefault(b => b.Name == name);
    public TenantConfig? Tenant(string name) => Tenants.FirstOrDefault(t => t.Name == name);
}

public sealed record ListenConfig(string Host, int Port);

/// <summary>The admin key is given as its SHA-256 (hex) or as the name of an environment variable that holds it.</summary>
public sealed record AdminConfig(string KeySha256);

public enum LedgerKind { Sqlite, Postgres }

/// <summary>
/// SQLite in WAL mode by default. <see cref="SqliteSynchronousFull"/> false means synchronous=NORMAL:
/// a committed row survives a crash of the gateway process (SIGKILL included), but an OS crash or power
/// loss may lose the last commits since the previous WAL sync. true means one fsync per group commit.
/// </summary>
public sealed record LedgerConfig(LedgerKind Kind, string Target, bool SqliteSynchronousFull, int BatchMax);

public sealed record RetryConfig(int MaxAttempts, TimeSpan BaseBackoff, TimeSpan MaxBackoff, TimeSpan MaxRetryAfter);

public sealed record BreakerConfig(int Failures, TimeSpan Cooldown);

public sealed record LimitsConfig(int MaxRequestBytes, int DefaultMaxTokens);

public enum BackendKind { Sovra, OpenAICompatible }

public sealed record BackendConfig(
    string Name,
    BackendKind Kind,
    Uri BaseUrl,
    IReadOnlyList<string> Models,
    IReadOnlyDictionary<string, string> Aliases,
    string Jurisdiction,
    double PriceInputPerMillion,
    double PriceOutputPerMillion,
    int MaxConcurrency,
    TimeSpan ConnectTimeout,
    TimeSpan FirstByteTimeout,
    TimeSpan TotalTimeout,
    string? ApiKey,
    string? HealthPath, // absolute path on the backend's host; null: no active health check
    TimeSpan HealthInterval)
{
    /// <summary>The upstream model name this backend uses for <paramref name="name"/>, or null when it does not serve it.</summary>
    public string? Resolve(string name) =>
        Aliases.TryGetValue(name, out var target) ? target : Models.Contains(name) ? name : null;
}

public enum RouteStrategy { Priority, Weighted, LeastOutstanding, LowestLatency, LowestCost }

public sealed record RouteCandidate(string Backend, string UpstreamModel, int Priority, double Weight);

/// <summary>A public model name and the backends that may answer it.</summary>
public sealed record RouteConfig(string Model, RouteStrategy Strategy, IReadOnlyList<RouteCandidate> Candidates);

/// <summary>
/// A tenant's policy. <see cref="Jurisdictions"/> empty means unbound; otherwise every request of the
/// tenant stays on backends labelled with one of them. With <see cref="JurisdictionHeader"/> the client
/// may narrow it further per request (X-Sovra-Jurisdiction), never widen it.
/// </summary>
public sealed record TenantConfig(string Name, IReadOnlyList<string> AllowedModels, IReadOnlyList<string> Jurisdictions, bool JurisdictionHeader)
{
    public bool AllowsModel(string model) => AllowedModels.Contains("*") || AllowedModels.Contains(model);
}
