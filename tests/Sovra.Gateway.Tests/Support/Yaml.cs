namespace Sovra.Gateway.Tests.Support;

/// <summary>Builds gateway configurations for the tests.</summary>
public static class Yaml
{
    public static string Backend(string name, Uri url, string jurisdiction, string models = "[m1]", string extra = "") => $"""
          - name: {name}
            kind: openai-compatible
            base_url: {url}
            jurisdiction: {jurisdiction}
            models: {models}
            price: {"{"} input: 1.0, output: 2.0 {"}"}
            timeouts: {"{"} connect_ms: 1000, first_byte_ms: 2000, total_ms: 10000 {"}"}
        {extra}
        """;

    public static string Config(string backends, string routes = "", string tenants = "", string ledger = "", string extra = "") => $"""
        admin: {"{"} key_sha256: {TestGateway.AdminKeySha} {"}"}
        {(ledger.Length > 0 ? ledger : "ledger: { sqlite: ledger.db }")}
        retry: {"{"} max_attempts: 3, base_backoff_ms: 5, max_backoff_ms: 20, max_retry_after_ms: 1500 {"}"}
        breaker: {"{"} failures: 2, cooldown_ms: 400 {"}"}
        {extra}
        backends:
        {backends}
        {(routes.Length > 0 ? "routes:\n" + routes : "")}
        tenants:
        {(tenants.Length > 0 ? tenants : "  - { name: acme, models: ['*'] }\n  - { name: other, models: ['*'] }")}
        """;
}
