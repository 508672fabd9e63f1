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
    // Look-ups by name for the request path, built once per configuration (a reload builds a new one).
    // Each index remembers the list it was built from, so a copy made with `with` never reads a stale one.
    private Index<BackendConfig>? _backends;
    private Index<RouteConfig>? _routes;
    private Index<TenantConfig>? _tenants;

    private sealed class Index<T>(IReadOnlyList<T> source, Func<T, string> name)
    {
        public readonly IReadOnlyList<T> Source = source;
        private readonly Dictionary<string, T> _byName = Build(source, name);

        private static Dictionary<string, T> Build(IReadOnlyList<T> source, Func<T, string> name)
        {
            var d = new Dictionary<string, T>(source.Count, StringComparer.Ordinal);
            foreach (var item in source) d.TryAdd(name(item), item); // the first of a name wins, as a scan would find it
            return d;
        }

        public T? Find(string key) => _byName.TryGetValue(key, out var v) ? v : default;
    }

    private static Index<T> IndexOf<T>(ref Index<T>? cache, IReadOnlyList<T> source, Func<T, string> name)
    {
        var index = Volatile.Read(ref cache);
        if (index is null || !ReferenceEquals(index.Source, source))
        {
            index = new Index<T>(source, name);
            Volatile.Write(ref cache, index);
        }
        return index;
    }

    public BackendConfig? Backend(string name) => IndexOf(ref _backends, Backends, static b => b.Name).Find(name);
    public TenantConfig? Tenant(string name) => IndexOf(ref _tenants, Tenants, static t => t.Name).Find(name);
    /// <summary>The route of a public model name, or null.</summary>
    public RouteConfig? Route(string model) => IndexOf(ref _routes, Routes, static r => r.Model).Find(model);
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

    // Parsed once per configuration, not per request. Each cache remembers what it was made from, so a
    // copy made with `with` never reads a stale one.
    private (Uri Base, string Endpoint, Uri Uri)[] _endpoints = [];
    private (string? Key, string? Header) _authorization;

    /// <summary>The URL of an OpenAI endpoint ("chat/completions", ...) under <see cref="BaseUrl"/>.</summary>
    public Uri EndpointUri(string endpoint)
    {
        var known = Volatile.Read(ref _endpoints);
        foreach (var (b, e, u) in known)
            if (ReferenceEquals(b, BaseUrl) && e == endpoint) return u;
        var uri = new Uri(BaseUrl.AbsoluteUri.TrimEnd('/') + "/" + endpoint);
        if (known.Length < 16) Volatile.Write(ref _endpoints, [.. known, (BaseUrl, endpoint, uri)]);
        return uri;
    }

    /// <summary>"Bearer" and <see cref="ApiKey"/>, or null when the backend has no key.</summary>
    public string? AuthorizationHeader
    {
        get
        {
            var (key, header) = _authorization;
            if (ReferenceEquals(key, ApiKey) && (header is not null || ApiKey is null)) return header;
            header = ApiKey is null ? null : "Bearer " + ApiKey;
            _authorization = (ApiKey, header);
            return header;
        }
    }
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
