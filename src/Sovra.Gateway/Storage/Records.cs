namespace Sovra.Gateway.Storage;

/// <summary>An API key as stored: the secret itself is never kept, only its SHA-256.</summary>
public sealed record KeyRecord(
    string Id,
    string Tenant,
    string Name,
    string Prefix,
    IReadOnlyList<string> AllowedModels,
    int? RequestsPerMinute,
    int? TokensPerMinute,
    long? TokensPerDay,
    long? TokensPerMonth,
    long? MoneyMicrosPerDay,
    long? MoneyMicrosPerMonth,
    long CreatedMs,
    long? RevokedMs)
{
    public bool HasBudget => TokensPerDay is not null || TokensPerMonth is not null || MoneyMicrosPerDay is not null || MoneyMicrosPerMonth is not null;
    public bool AllowsModel(string model) => AllowedModels.Count == 0 || AllowedModels.Contains("*") || AllowedModels.Contains(model);
}

/// <summary>What a new key may do; limits left null are unlimited.</summary>
public sealed record KeySpec(
    string Tenant,
    string Name,
    IReadOnlyList<string> AllowedModels,
    int? RequestsPerMinute,
    int? TokensPerMinute,
    long? TokensPerDay,
    long? TokensPerMonth,
    long? MoneyMicrosPerDay,
    long? MoneyMicrosPerMonth);

/// <summary>Budget held for one in-flight request (estimate: prompt + max_tokens, at the dearest candidate's price).</summary>
public sealed record Reservation(string Id, string KeyId, string DayPeriod, string MonthPeriod, long Tokens, long MoneyMicros, long ExpiresMs);

public enum ReserveOutcome { Reserved, TokensExceeded, MoneyExceeded }

/// <summary>The stored answer of an idempotent request, replayed byte for byte.</summary>
public sealed record StoredResponse(int Status, string ContentType, byte[] Body);

public enum IdempotencyState { Started, Replay, InProgress, Mismatch }

public sealed record IdempotencyBegin(IdempotencyState State, StoredResponse? Response = null);

/// <summary>One row of the usage ledger, plus what its commit settles (a reservation, an idempotency record).</summary>
public sealed record LedgerEntry(
    string RequestId,
    long TsMs,
    string Tenant,
    string KeyId,
    string Model,
    string? Backend,
    long TokensIn,
    long TokensOut,
    long CostMicros,
    int LatencyMs,
    int? TtftMs,
    int Status,
    string Outcome,
    bool ClientDisconnected,
    string? IdempotencyKey,
    Reservation? Reservation,
    StoredResponse? IdempotentResponse);

public sealed record UsageRow(string Group, long Requests, long TokensIn, long TokensOut, long CostMicros, long Errors);

public sealed record RankRow(string Model, long Requests, long Tokens, double TokenShare, double RequestShare);

public sealed record UsageQuery(string GroupBy, long FromMs, long ToMs, string? Tenant, string? KeyId, string? Model, string? Backend);
