using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sovra.Gateway.Config;

/// <summary>Thrown when a configuration is invalid; <see cref="Errors"/> holds every problem found, each with its path.</summary>
public sealed class GatewayConfigException(string source, IReadOnlyList<string> errors)
    : Exception($"{Path.GetFileName(source)}: {errors.Count} error(s): {string.Join("; ", errors)}")
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Parses and validates a gateway configuration (YAML, or JSON, which YAML reads too).</summary>
public static class ConfigLoader
{
    private static readonly Dictionary<string, BackendKind> Kinds = new()
    {
        ["sovra"] = BackendKind.Sovra, ["openai-compatible"] = BackendKind.OpenAICompatible,
    };

    private static readonly Dictionary<string, RouteStrategy> Strategies = new()
    {
        ["priority"] = RouteStrategy.Priority, ["weighted"] = RouteStrategy.Weighted,
        ["least-outstanding"] = RouteStrategy.LeastOutstanding, ["lowest-latency"] = RouteStrategy.LowestLatency,
        ["lowest-cost"] = RouteStrategy.LowestCost,
    };

    private static readonly Dictionary<string, bool> Synchronous = new() { ["full"] = true, ["normal"] = false };

    public static GatewayConfig LoadFile(string path, Func<string, string?>? env = null)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigException(path, [$"cannot read the file: {e.GetType().Name}"]);
        }
        return Parse(text, path, env);
    }

    /// <param name="source">The file's path: relative paths in the config are resolved against its folder.</param>
    public static GatewayConfig Parse(string text, string source, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var errors = new List<string>();
        var w = new YamlWalker(errors);
        YamlNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
        }
        catch (YamlException e)
        {
            throw new GatewayConfigException(source, [$"line {e.Start.Line}, column {e.Start.Column}: not valid YAML"]);
        }
        if (root is null) throw new GatewayConfigException(source, ["the file is empty"]);

        var baseDir = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        var top = w.Map(root, "", "listen", "admin", "ledger", "retry", "breaker", "limits", "backends", "routes", "tenants");

        var listenMap = top is not null && top.TryGetValue("listen", out var l) ? w.Map(l.Node, "listen", "host", "port") : null;
        var listen = new ListenConfig(w.Str(listenMap, "host", "listen") ?? "127.0.0.1", w.Int(listenMap, "port", "listen", 0, 65535) ?? 8080);

        var admin = ParseAdmin(w, top, env);
        var ledger = ParseLedger(w, top, baseDir, env);

        var retryMap = top is not null && top.TryGetValue("retry", out var r) ? w.Map(r.Node, "retry", "max_attempts", "base_backoff_ms", "max_backoff_ms", "max_retry_after_ms") : null;
        var retry = new RetryConfig(w.Int(retryMap, "max_attempts", "retry", 1, 10) ?? 3,
            w.Ms(retryMap, "base_backoff_ms", "retry") ?? TimeSpan.FromMilliseconds(25),
            w.Ms(retryMap, "max_backoff_ms", "retry") ?? TimeSpan.FromSeconds(1),
            w.Ms(retryMap, "max_retry_after_ms", "retry") ?? TimeSpan.FromSeconds(2));

        var breakerMap = top is not null && top.TryGetValue("breaker", out var b) ? w.Map(b.Node, "breaker", "failures", "cooldown_ms") : null;
        var breaker = new BreakerConfig(w.Int(breakerMap, "failures", "breaker", 1, 1000) ?? 3, w.Ms(breakerMap, "cooldown_ms", "breaker", 1) ?? TimeSpan.FromSeconds(5));

        var limitsMap = top is not null && top.TryGetValue("limits", out var lm) ? w.Map(lm.Node, "limits", "max_request_bytes", "default_max_tokens") : null;
        var limits = new LimitsConfig(w.Int(limitsMap, "max_request_bytes", "limits", 1024, 256 << 20) ?? 8 << 20,
            w.Int(limitsMap, "default_max_tokens", "limits", 1, 10_000_000) ?? 1024);

        var backends = new List<BackendConfig>();
        foreach (var (node, path) in w.Seq(top, "backends", ""))
            if (ParseBackend(w, node, path, env) is { } be)
            {
                if (backends.Any(x => x.Name == be.Name)) w.Error(path + ".name", $"backend '{be.Name}' is defined twice");
                else backends.Add(be);
            }
        if (top is not null && !top.ContainsKey("backends")) w.Error("backends", "required (at least one backend)");

        var routes = new List<RouteConfig>();
        foreach (var (node, path) in w.Seq(top, "routes", ""))
            if (ParseRoute(w, node, path, backends) is { } route)
            {
                if (routes.Any(x => x.Model == route.Model)) w.Error(path + ".model", $"route '{route.Model}' is defined twice");
                else routes.Add(route);
            }
        AddImplicitRoutes(routes, backends);

        var tenants = new List<TenantConfig>();
        foreach (var (node, path) in w.Seq(top, "tenants", ""))
        {
            var m = w.Map(node, path, "name", "models", "jurisdictions", "jurisdiction_header");
            if (m is null) continue;
            var name = w.Str(m, "name", path, required: true) ?? "";
            var models = w.StrList(m, "models", path);
            var jur = w.StrList(m, "jurisdictions", path);
            foreach (var model in models.Where(x => x != "*" && routes.All(rt => rt.Model != x)))
                w.Error(path + ".models", $"no route or backend serves model '{model}'");
            foreach (var j in jur.Where(j => backends.All(be => be.Jurisdiction != j)))
                w.Error(path + ".jurisdictions", $"no backend is labelled with jurisdiction '{j}'");
            if (tenants.Any(t => t.Name == name)) w.Error(path + ".name", $"tenant '{name}' is defined twice");
            tenants.Add(new TenantConfig(name, models, jur, w.Bool(m, "jurisdiction_header", path) ?? false));
        }

        if (errors.Count > 0) throw new GatewayConfigException(source, errors);
        return new GatewayConfig(listen, admin, ledger, retry, breaker, limits, backends, routes, tenants);
    }

    private static AdminConfig ParseAdmin(YamlWalker w, Dictionary<string, (YamlNode Node, string Path)>? top, Func<string, string?> env)
    {
        var m = top is not null && top.TryGetValue("admin", out var a) ? w.Map(a.Node, "admin", "key_sha256", "key_env") : null;
        if (m is null)
        {
            if (top is not null) w.Error("admin", "required: key_sha256 or key_env (the admin API needs its own key)");
            return new AdminConfig("");
        }
        var sha = w.Str(m, "key_sha256", "admin");
        var envName = w.Str(m, "key_env", "admin");
        if ((sha is null) == (envName is null))
        {
            w.Error("admin", "give exactly one of key_sha256 and key_env");
            return new AdminConfig("");
        }
        if (sha is not null)
        {
            if (sha.Length != 64 || !sha.All(Uri.IsHexDigit)) w.Error("admin.key_sha256", "expected 64 hex digits");
            return new AdminConfig(sha.ToLowerInvariant());
        }
        var key = env(envName!);
        if (string.IsNullOrEmpty(key) || key.Length < 16)
        {
            w.Error("admin.key_env", $"environment variable {envName} is not set or shorter than 16 characters");
            return new AdminConfig("");
        }
        return new AdminConfig(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
    }

    private static LedgerConfig ParseLedger(YamlWalker w, Dictionary<string, (YamlNode Node, string Path)>? top, string baseDir, Func<string, string?> env)
    {
        var m = top is not null && top.TryGetValue("ledger", out var l) ? w.Map(l.Node, "ledger", "sqlite", "postgres", "postgres_env", "synchronous", "batch_max") : null;
        var sync = w.Enum(m, "synchronous", "ledger", Synchronous) ?? false;
        var batch = w.Int(m, "batch_max", "ledger", 1, 100_000) ?? 512;
        var sqlite = w.Str(m, "sqlite", "ledger");
        var pg = w.Str(m, "postgres", "ledger");
        var pgEnv = w.Str(m, "postgres_env", "ledger");
        var given = new[] { sqlite, pg, pgEnv }.Count(x => x is not null);
        if (given > 1) w.Error("ledger", "give only one of sqlite, postgres, postgres_env");
        if (pgEnv is not null)
        {
            pg = env(pgEnv);
            if (string.IsNullOrEmpty(pg)) w.Error("ledger.postgres_env", $"environment variable {pgEnv} is not set");
        }
        if (pg is not null) return new LedgerConfig(LedgerKind.Postgres, pg, sync, batch);
        var file = Path.GetFullPath(Path.Combine(baseDir, sqlite ?? "sovra-gateway.db"));
        return new LedgerConfig(LedgerKind.Sqlite, file, sync, batch);
    }

    private static BackendConfig? ParseBackend(YamlWalker w, YamlNode node, string path, Func<string, string?> env)
    {
        var m = w.Map(node, path, "name", "kind", "base_url", "models", "aliases", "jurisdiction", "price", "max_concurrency",
            "timeouts", "api_key", "api_key_env", "health");
        if (m is null) return null;
        var before = w.Errors.Count;
        var name = w.Str(m, "name", path, required: true) ?? "";
        var kind = w.Enum(m, "kind", path, Kinds) ?? BackendKind.OpenAICompatible;
        var urlText = w.Str(m, "base_url", path, required: true);
        Uri? url = null;
        if (urlText is not null && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.UserInfo)))
            w.Error(path + ".base_url", "expected an absolute http(s) URL without query or credentials, e.g. http://10.0.0.5:8000/v1");
        var models = w.StrList(m, "models", path);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        if (m.TryGetValue("aliases", out var al))
        {
            if (al.Node is not YamlMappingNode amap) w.Error(al.Path, "expected a mapping of alias: model");
            else
                foreach (var (k, v) in amap.Children)
                {
                    var alias = (k as YamlScalarNode)?.Value ?? "";
                    if (v is YamlScalarNode { Value: { Length: > 0 } target })
                    {
                        if (!models.Contains(target)) w.Error($"{al.Path}.{alias}", $"alias target '{target}' is not in models");
                        aliases[alias] = target;
                    }
                    else w.Error($"{al.Path}.{alias}", "expected a model name");
                }
        }
        if (models.Count == 0) w.Error(path + ".models", "required (the upstream model names this backend serves)");
        var jurisdiction = w.Str(m, "jurisdiction", path, required: true) ?? "";
        var priceMap = m.TryGetValue("price", out var pr) ? w.Map(pr.Node, pr.Path, "input", "output") : null;
        var pin = w.Num(priceMap, "input", path + ".price", 0, 1e6) ?? 0;
        var pout = w.Num(priceMap, "output", path + ".price", 0, 1e6) ?? 0;
        var maxConc = w.Int(m, "max_concurrency", path, 1, 1_000_000) ?? 256;
        var tmap = m.TryGetValue("timeouts", out var tm) ? w.Map(tm.Node, tm.Path, "connect_ms", "first_byte_ms", "total_ms") : null;
        var connect = w.Ms(tmap, "connect_ms", path + ".timeouts", 1) ?? TimeSpan.FromSeconds(3);
        var firstByte = w.Ms(tmap, "first_byte_ms", path + ".timeouts", 1) ?? TimeSpan.FromSeconds(60);
        var total = w.Ms(tmap, "total_ms", path + ".timeouts", 1) ?? TimeSpan.FromMinutes(10);
        if (total < firstByte) w.Error(path + ".timeouts.total_ms", "must not be shorter than first_byte_ms");
        var apiKey = w.Str(m, "api_key", path);
        var apiKeyEnv = w.Str(m, "api_key_env", path);
        if (apiKey is not null && apiKeyEnv is not null) w.Error(path, "give only one of api_key and api_key_env");
        if (apiKeyEnv is not null)
        {
            apiKey = env(apiKeyEnv);
            if (string.IsNullOrEmpty(apiKey)) w.Error(path + ".api_key_env", $"environment variable {apiKeyEnv} is not set");
        }
        var hmap = m.TryGetValue("health", out var h) ? w.Map(h.Node, h.Path, "path", "interval_ms") : null;
        // An absolute path on the backend's host; by default a Sovra node's /health, or the models list of an OpenAI-compatible server.
        var healthPath = w.Str(hmap, "path", path + ".health") ?? (hmap is null || url is null ? null
            : kind == BackendKind.Sovra ? "/health" : url.AbsolutePath.TrimEnd('/') + "/models");
        if (healthPath is not null && !healthPath.StartsWith('/')) w.Error(path + ".health.path", "must start with '/'");
        var healthInterval = w.Ms(hmap, "interval_ms", path + ".health", 50) ?? TimeSpan.FromSeconds(5);
        if (w.Errors.Count > before || url is null) return null;
        return new BackendConfig(name, kind, url, models, aliases, jurisdiction, pin, pout, maxConc, connect, firstByte, total,
            apiKey, healthPath, healthInterval);
    }

    private static RouteConfig? ParseRoute(YamlWalker w, YamlNode node, string path, List<BackendConfig> backends)
    {
        var m = w.Map(node, path, "model", "strategy", "candidates");
        if (m is null) return null;
        var before = w.Errors.Count;
        var model = w.Str(m, "model", path, required: true) ?? "";
        var strategy = w.Enum(m, "strategy", path, Strategies) ?? RouteStrategy.Priority;
        var candidates = new List<RouteCandidate>();
        var seq = w.Seq(m, "candidates", path);
        if (seq.Count == 0) w.Error(path + ".candidates", "required (at least one backend)");
        foreach (var (cn, cp) in seq)
        {
            var cm = w.Map(cn, cp, "backend", "model", "priority", "weight");
            if (cm is null) continue;
            var bname = w.Str(cm, "backend", cp, required: true);
            var be = backends.FirstOrDefault(x => x.Name == bname);
            if (bname is not null && be is null) w.Error(cp + ".backend", $"no backend named '{bname}'");
            var upstream = w.Str(cm, "model", cp);
            var resolved = be?.Resolve(upstream ?? model);
            if (be is not null && resolved is null)
                w.Error(cp + ".model", $"backend '{be.Name}' does not serve '{upstream ?? model}' (list it in its models or aliases)");
            var prio = w.Int(cm, "priority", cp, -1000, 1000) ?? candidates.Count;
            var weight = w.Num(cm, "weight", cp, 0, 1e6) ?? 1;
            if (resolved is not null) candidates.Add(new RouteCandidate(be!.Name, resolved, prio, weight));
        }
        if (strategy == RouteStrategy.Weighted && candidates.Count > 0 && candidates.All(c => c.Weight == 0))
            w.Error(path + ".candidates", "weighted routing needs at least one candidate with a weight above 0");
        return w.Errors.Count > before ? null : new RouteConfig(model, strategy, candidates);
    }

    // A model a backend serves, or an alias it knows, needs no route of its own: it is served with priority
    // fallback over the backends that know it, in the order they are configured.
    private static void AddImplicitRoutes(List<RouteConfig> routes, List<BackendConfig> backends)
    {
        var names = backends.SelectMany(b => b.Models.Concat(b.Aliases.Keys)).Distinct().Where(n => routes.All(r => r.Model != n)).ToList();
        foreach (var name in names)
        {
            var candidates = backends.Where(b => b.Resolve(name) is not null)
                .Select((b, i) => new RouteCandidate(b.Name, b.Resolve(name)!, i, 1)).ToList();
            routes.Add(new RouteConfig(name, RouteStrategy.Priority, candidates));
        }
    }
}
