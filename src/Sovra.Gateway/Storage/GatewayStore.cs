using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Sovra.Gateway.Config;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Keys, budgets, idempotency records and the usage ledger, in SQLite (embedded, WAL) or PostgreSQL
/// (shared by several gateway processes). One SQL text serves both; the differences are column types
/// and how a write transaction takes its lock.
/// Budget checks are atomic conditional UPDATEs inside a transaction: SQLite takes the database write
/// lock up front (BEGIN IMMEDIATE), PostgreSQL locks the budget row and re-checks the condition against
/// the committed value when a concurrent transaction held it first, so no two requests spend the same room.
/// </summary>
public sealed class GatewayStore : IAsyncDisposable
{
    private readonly LedgerConfig _config;
    private readonly NpgsqlDataSource? _pg;
    private readonly string? _sqlite;
    // One writer at a time inside this process for SQLite: waiting here is cheaper than SQLITE_BUSY retries.
    private readonly SemaphoreSlim _sqliteWrite = new(1, 1);

    public GatewayStore(LedgerConfig config)
    {
        _config = config;
        if (config.Kind == LedgerKind.Postgres)
            _pg = NpgsqlDataSource.Create(config.Target);
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(config.Target)!);
            _sqlite = new SqliteConnectionStringBuilder { DataSource = config.Target, Pooling = true, DefaultTimeout = 30 }.ToString();
        }
    }

    public bool IsPostgres => _pg is not null;

    internal bool SqliteSynchronousFull => _config.SqliteSynchronousFull;
    internal string SqlitePath => _config.Target;

    /// <summary>
    /// Set by the running gateway's ledger writer: every read of the ledger (rows, usage, budgets, stored
    /// answers) first waits for it, so it sees every acknowledged row even while some are still in the row
    /// log (<see cref="RowLog"/>). A store opened on its own (no gateway writing through it) instead moves
    /// whatever a row log beside the file holds into the tables once, before its first read.
    /// </summary>
    internal Func<CancellationToken, Task>? ReadBarrier { get; set; }
    private Task? _ownRowLogRead;

    private Task BeforeReadAsync(CancellationToken ct)
    {
        if (_pg is not null) return Task.CompletedTask;
        if (ReadBarrier is { } barrier) return barrier(ct);
        return (_ownRowLogRead ??= Task.Run(() => StoreWriter.IngestFiles(this, emptyAfter: false, null))).WaitAsync(ct);
    }

    private string Blob => IsPostgres ? "BYTEA" : "BLOB";

    // SQLite: a new ledger keeps its rows in the request-id index itself (one B-tree fewer to insert into per row, and
    // one page fewer per group commit); a ledger made before keeps its layout, and every statement works on both.
    private string RowsByRequestId => IsPostgres ? "" : " WITHOUT ROWID";

    private async Task<DbConnection> OpenAsync(CancellationToken ct, bool ledgerWriter = false)
    {
        if (_pg is not null) return await _pg.OpenConnectionAsync(ct);
        // SQLite's calls block (its async methods run synchronously): never on the caller's thread, which may be
        // a socket thread running request code inline (see GatewayHost), where a slow read would stall every connection.
        await Task.Yield();
        var c = new SqliteConnection(_sqlite);
        await c.OpenAsync(ct);
        await using var cmd = c.CreateCommand();
        // No checkpoint inside a commit (it would stall the requests waiting on it): StoreWriter.CheckpointAsync runs them, mostly in the background.
        cmd.CommandText = $"PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous={(ledgerWriter && _config.SqliteSynchronousFull ? "FULL" : "NORMAL")};";
        await cmd.ExecuteNonQueryAsync(ct);
        return c;
    }

    /// <summary>The ledger writer's long-lived SQLite connection (see <see cref="SqliteWriteBatch"/>).</summary>
    internal SqliteConnection OpenSqliteWriter()
    {
        var c = new SqliteConnection(_sqlite);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous={(_config.SqliteSynchronousFull ? "FULL" : "NORMAL")};";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>The UTC day of a ledger row, as stored in its day column.</summary>
    internal static string Day(long tsMs) => Periods.DayOf(tsMs);

    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it.</summary>
    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct, bool ledgerWriter = false)
    {
        if (_pg is null) await _sqliteWrite.WaitAsync(ct);
        try
        {
            await using var c = await OpenAsync(ct, ledgerWriter);
            await using var tx = c is SqliteConnection s ? s.BeginTransaction(deferred: false) : await c.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            var result = await work(c, tx);
            await tx.CommitAsync(ct);
            return result;
        }
        finally
        {
            if (_pg is null) _sqliteWrite.Release();
        }
    }

    private static DbCommand Cmd(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static async Task<int> Exec(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        await using var cmd = Cmd(c, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync();
    }

    public async Task MigrateAsync(CancellationToken ct)
    {
        if (_pg is null)
        {
            await using var c0 = await OpenAsync(ct);
            await Exec(c0, null, "PRAGMA journal_mode=WAL;");
            BoundSqliteMemory();
        }
        var ddl = $"""
            CREATE TABLE IF NOT EXISTS api_keys (
              id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL,
              key_sha256 TEXT NOT NULL UNIQUE, allowed_models TEXT NOT NULL,
              rpm INTEGER, tpm INTEGER, tokens_day BIGINT, tokens_month BIGINT, money_day BIGINT, money_month BIGINT,
              created_ms BIGINT NOT NULL, revoked_ms BIGINT);
            CREATE TABLE IF NOT EXISTS budget_usage (
              key_id TEXT NOT NULL, period TEXT NOT NULL,
              tokens BIGINT NOT NULL DEFAULT 0, tokens_reserved BIGINT NOT NULL DEFAULT 0,
              money BIGINT NOT NULL DEFAULT 0, money_reserved BIGINT NOT NULL DEFAULT 0,
              PRIMARY KEY (key_id, period));
            CREATE TABLE IF NOT EXISTS reservations (
              id TEXT PRIMARY KEY, key_id TEXT NOT NULL, day_period TEXT NOT NULL, month_period TEXT NOT NULL,
              tokens BIGINT NOT NULL, money BIGINT NOT NULL, expires_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS idempotency (
              key_id TEXT NOT NULL, idem_key TEXT NOT NULL, request_hash TEXT NOT NULL, request_id TEXT NOT NULL,
              status INTEGER NOT NULL, content_type TEXT NOT NULL, body {Blob} NOT NULL, created_ms BIGINT NOT NULL,
              PRIMARY KEY (key_id, idem_key));
            CREATE TABLE IF NOT EXISTS requests (
              request_id TEXT PRIMARY KEY, ts_ms BIGINT NOT NULL, day TEXT NOT NULL, tenant TEXT NOT NULL, key_id TEXT NOT NULL,
              model TEXT NOT NULL, backend TEXT, tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL, cost_micros BIGINT NOT NULL,
              latency_ms INTEGER NOT NULL, ttft_ms INTEGER, status INTEGER NOT NULL, outcome TEXT NOT NULL,
              client_disconnected INTEGER NOT NULL, idempotency_key TEXT){RowsByRequestId};
            CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts_ms);
            CREATE TABLE IF NOT EXISTS key_epoch (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
            INSERT INTO key_epoch (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
            """;
        // Several gateway processes may start at once on one PostgreSQL: serialise the DDL with an advisory lock.
        await WriteAsync(async (c, tx) =>
        {
            if (IsPostgres) await Exec(c, tx, "SELECT pg_advisory_xact_lock(7706001)");
            foreach (var stmt in ddl.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                await Exec(c, tx, stmt);
            return 0;
        }, ct);
    }

    /// <summary>What SQLite may hold in this process (all its connections' page caches together) before it frees cache pages.</summary>
    public const long SqliteHeapLimit = 64L << 20;

    /// <summary>
    /// Each connection's page cache is bounded (2 MB by default) but pooled reader connections add up, one per
    /// admin query or look-up running at once: a soft limit over all of them, unless the host set one.
    /// </summary>
    internal static void BoundSqliteMemory()
    {
        if (SQLitePCL.raw.sqlite3_soft_heap_limit64(-1) == 0) SQLitePCL.raw.sqlite3_soft_heap_limit64(SqliteHeapLimit);
    }

    /// <summary>SQLite: copies the WAL into the database without blocking writers (PASSIVE). PostgreSQL: nothing to do.</summary>
    public async Task CheckpointAsync(CancellationToken ct)
    {
        if (_pg is not null) return;
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "PRAGMA wal_checkpoint(PASSIVE)");
    }

    // ---- keys ----

    private const string KeyColumns = "id, tenant, name, prefix, allowed_models, rpm, tpm, tokens_day, tokens_month, money_day, money_month, created_ms, revoked_ms";

    private static KeyRecord ReadKey(DbDataReader r)
    {
        long? L(int i) => r.IsDBNull(i) ? null : Convert.ToInt64(r.GetValue(i));
        int? I(int i) => r.IsDBNull(i) ? null : Convert.ToInt32(r.GetValue(i));
        var models = r.GetString(4);
        return new KeyRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
            models.Length == 0 ? [] : models.Split(','), I(5), I(6), L(7), L(8), L(9), L(10), Convert.ToInt64(r.GetValue(11)), L(12));
    }

    public async Task<KeyRecord?> FindKeyByHashAsync(string sha256, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, $"SELECT {KeyColumns} FROM api_keys WHERE key_sha256 = @h", ("@h", sha256));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadKey(r) : null;
    }

    public async Task<KeyRecord?> GetKeyAsync(string id, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, $"SELECT {KeyColumns} FROM api_keys WHERE id = @id", ("@id", id));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadKey(r) : null;
    }

    public async Task<List<KeyRecord>> ListKeysAsync(string? tenant, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, $"SELECT {KeyColumns} FROM api_keys WHERE CAST(@t AS TEXT) IS NULL OR tenant = @t ORDER BY created_ms, id", ("@t", tenant));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<KeyRecord>();
        while (await r.ReadAsync(ct)) list.Add(ReadKey(r));
        return list;
    }

    public Task CreateKeyAsync(string id, string prefix, string sha256, KeySpec spec, long nowMs, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await BumpKeyEpoch(c, tx, await Exec(c, tx,
            $"INSERT INTO api_keys ({KeyColumns}, key_sha256) VALUES (@id, @t, @n, @p, @m, @rpm, @tpm, @td, @tm, @md, @mm, @now, NULL, @h)",
            ("@id", id), ("@t", spec.Tenant), ("@n", spec.Name), ("@p", prefix), ("@m", string.Join(',', spec.AllowedModels)),
            ("@rpm", spec.RequestsPerMinute), ("@tpm", spec.TokensPerMinute), ("@td", spec.TokensPerDay), ("@tm", spec.TokensPerMonth),
            ("@md", spec.MoneyMicrosPerDay), ("@mm", spec.MoneyMicrosPerMonth), ("@now", nowMs), ("@h", sha256))), ct);

    public async Task<bool> RevokeKeyAsync(string id, long nowMs, CancellationToken ct) =>
        await WriteAsync(async (c, tx) => await BumpKeyEpoch(c, tx,
            await Exec(c, tx, "UPDATE api_keys SET revoked_ms = @now WHERE id = @id AND revoked_ms IS NULL", ("@id", id), ("@now", nowMs))), ct) == 1;

    public async Task<bool> ReplaceSecretAsync(string id, string prefix, string sha256, CancellationToken ct) =>
        await WriteAsync(async (c, tx) => await BumpKeyEpoch(c, tx, await Exec(c, tx, "UPDATE api_keys SET key_sha256 = @h, prefix = @p WHERE id = @id AND revoked_ms IS NULL",
            ("@id", id), ("@h", sha256), ("@p", prefix))), ct) == 1;

    /// <summary>
    /// Counts up the key epoch in the transaction that changed keys (when it changed any): every gateway
    /// process sharing the database polls it and drops its cached keys when it moves (see KeyCache).
    /// </summary>
    private static async Task<int> BumpKeyEpoch(DbConnection c, DbTransaction tx, int changed)
    {
        if (changed > 0) await Exec(c, tx, "UPDATE key_epoch SET n = n + 1 WHERE id = 1");
        return changed;
    }

    /// <summary>The key epoch: it moves with every committed change to the keys.</summary>
    public async Task<long> KeyEpochAsync(CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Scalar(c, null, "SELECT n FROM key_epoch WHERE id = 1");
    }

    // ---- budgets ----

    /// <summary>
    /// Reserves for a batch of requests in one transaction (group commit), each with its own atomic conditional
    /// UPDATEs: one refused request changes nothing, the others are unaffected. Budget rows are locked in key
    /// order, so concurrent batches in several processes cannot deadlock.
    /// </summary>
    public Task<ReserveOutcome[]> ReserveBatchAsync(IReadOnlyList<(KeyRecord Key, Reservation R)> batch, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
        {
            var outcomes = new ReserveOutcome[batch.Count];
            foreach (var i in Enumerable.Range(0, batch.Count).OrderBy(i => batch[i].Key.Id, StringComparer.Ordinal))
                outcomes[i] = await ReserveOneAsync(c, tx, batch[i].Key, batch[i].R);
            return outcomes;
        }, ct);

    public async Task<ReserveOutcome> ReserveAsync(KeyRecord key, Reservation r, CancellationToken ct) => (await ReserveBatchAsync([(key, r)], ct))[0];

    private static async Task<ReserveOutcome> ReserveOneAsync(DbConnection c, DbTransaction tx, KeyRecord key, Reservation r)
    {
        await Exec(c, tx, "INSERT INTO budget_usage (key_id, period) VALUES (@k, @d) ON CONFLICT DO NOTHING", ("@k", key.Id), ("@d", r.DayPeriod));
        await Exec(c, tx, "INSERT INTO budget_usage (key_id, period) VALUES (@k, @m) ON CONFLICT DO NOTHING", ("@k", key.Id), ("@m", r.MonthPeriod));
        var periods = new[] { (r.DayPeriod, key.TokensPerDay, key.MoneyMicrosPerDay), (r.MonthPeriod, key.TokensPerMonth, key.MoneyMicrosPerMonth) };
        for (var i = 0; i < periods.Length; i++)
        {
            var (period, tokenLimit, moneyLimit) = periods[i];
            var n = await Exec(c, tx, """
                UPDATE budget_usage SET tokens_reserved = tokens_reserved + @t, money_reserved = money_reserved + @c
                WHERE key_id = @k AND period = @p
                  AND (@tl < 0 OR tokens + tokens_reserved + @t <= @tl)
                  AND (@cl < 0 OR money + money_reserved + @c <= @cl)
                """, ("@t", r.Tokens), ("@c", r.MoneyMicros), ("@k", key.Id), ("@p", period), ("@tl", tokenLimit ?? -1L), ("@cl", moneyLimit ?? -1L));
            if (n == 1) continue;
            var tokensFit = tokenLimit is null || await Scalar(c, tx, "SELECT tokens + tokens_reserved FROM budget_usage WHERE key_id = @k AND period = @p", ("@k", key.Id), ("@p", period)) + r.Tokens <= tokenLimit;
            if (i == 1) // the day was reserved, the month is full: take the day back (same transaction)
                await Exec(c, tx, "UPDATE budget_usage SET tokens_reserved = tokens_reserved - @t, money_reserved = money_reserved - @c WHERE key_id = @k AND period = @p",
                    ("@t", r.Tokens), ("@c", r.MoneyMicros), ("@k", key.Id), ("@p", r.DayPeriod));
            return tokensFit ? ReserveOutcome.MoneyExceeded : ReserveOutcome.TokensExceeded;
        }
        await Exec(c, tx, "INSERT INTO reservations (id, key_id, day_period, month_period, tokens, money, expires_ms) VALUES (@id, @k, @d, @m, @t, @c, @e)",
            ("@id", r.Id), ("@k", key.Id), ("@d", r.DayPeriod), ("@m", r.MonthPeriod), ("@t", r.Tokens), ("@c", r.MoneyMicros), ("@e", r.ExpiresMs));
        return ReserveOutcome.Reserved;
    }

    private static async Task<long> Scalar(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        await using var cmd = Cmd(c, tx, sql, args);
        var v = await cmd.ExecuteScalarAsync();
        return v is null or DBNull ? 0 : Convert.ToInt64(v);
    }

    /// <summary>Moves a reservation into used (real usage), or just releases it (zero usage). Idempotent per reservation id.</summary>
    private static async Task SettleAsync(DbConnection c, DbTransaction tx, Reservation r, long tokens, long money)
    {
        var held = await Exec(c, tx, "DELETE FROM reservations WHERE id = @id", ("@id", r.Id)) == 1;
        // A reservation the sweeper already released only adds its real usage.
        var (rt, rc) = held ? (r.Tokens, r.MoneyMicros) : (0L, 0L);
        await Exec(c, tx, """
            UPDATE budget_usage SET tokens_reserved = tokens_reserved - @rt, money_reserved = money_reserved - @rc, tokens = tokens + @t, money = money + @c
            WHERE key_id = @k AND (period = @d OR period = @m)
            """, ("@rt", rt), ("@rc", rc), ("@t", tokens), ("@c", money), ("@k", r.KeyId), ("@d", r.DayPeriod), ("@m", r.MonthPeriod));
    }

    public async Task<(long Tokens, long Reserved, long Money, long MoneyReserved)> BudgetAsync(string keyId, string period, CancellationToken ct)
    {
        await BeforeReadAsync(ct);
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, "SELECT tokens, tokens_reserved, money, money_reserved FROM budget_usage WHERE key_id = @k AND period = @p", ("@k", keyId), ("@p", period));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return (0, 0, 0, 0);
        return (Convert.ToInt64(r.GetValue(0)), Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)));
    }

    /// <summary>
    /// Releases reservations of requests that can no longer settle (their gateway process died), and forgets
    /// stored idempotent answers older than <paramref name="idempotencyStaleBeforeMs"/>.
    /// </summary>
    public Task<int> SweepAsync(long nowMs, long idempotencyStaleBeforeMs, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
        {
            var expired = new List<Reservation>();
            await using (var cmd = Cmd(c, tx, "SELECT id, key_id, day_period, month_period, tokens, money, expires_ms FROM reservations WHERE expires_ms < @now", ("@now", nowMs)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
                while (await r.ReadAsync(ct))
                    expired.Add(new Reservation(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Convert.ToInt64(r.GetValue(4)), Convert.ToInt64(r.GetValue(5)), Convert.ToInt64(r.GetValue(6))));
            foreach (var e in expired) await SettleAsync(c, tx, e, 0, 0);
            await Exec(c, tx, "DELETE FROM idempotency WHERE created_ms < @s", ("@s", idempotencyStaleBeforeMs));
            return expired.Count;
        }, ct);

    // ---- idempotency ----

    /// <summary>
    /// Looks up a committed answer for this key's Idempotency-Key. Nothing is claimed before the answer is
    /// committed, so a gateway that dies mid-request leaves nothing behind that could block the retry.
    /// </summary>
    public async Task<IdempotencyBegin> FindIdempotentAsync(string keyId, string idemKey, string requestHash, CancellationToken ct)
    {
        await BeforeReadAsync(ct);
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, "SELECT request_hash, status, content_type, body FROM idempotency WHERE key_id = @k AND idem_key = @i", ("@k", keyId), ("@i", idemKey));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return new IdempotencyBegin(IdempotencyState.Started);
        if (r.GetString(0) != requestHash) return new IdempotencyBegin(IdempotencyState.Mismatch);
        return new IdempotencyBegin(IdempotencyState.Replay, new StoredResponse(Convert.ToInt32(r.GetValue(1)), r.GetString(2), (byte[])r.GetValue(3)));
    }

    // ---- ledger ----

    /// <summary>
    /// Commits a batch of ledger rows in one transaction (group commit), settling each row's reservation and
    /// storing its replayable answer (Idempotency-Key) in the same transaction: a row, its charge and its
    /// stored answer exist together or not at all.
    /// </summary>
    public Task WriteBatchAsync(IReadOnlyList<LedgerEntry> batch, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
        {
            DbCommand? insert = null;
            try
            {
                foreach (var e0 in batch)
                {
                    var e = e0;
                    if (e.IdempotencyKey is { } ik && e.IdempotentResponse is { } resp)
                    {
                        var first = await Exec(c, tx, """
                            INSERT INTO idempotency (key_id, idem_key, request_hash, request_id, status, content_type, body, created_ms)
                            VALUES (@k, @i, @h, @r, @s, @ct, @b, @ts) ON CONFLICT DO NOTHING
                            """, ("@k", e.KeyId), ("@i", ik), ("@h", e.RequestHash ?? ""), ("@r", e.RequestId), ("@s", resp.Status), ("@ct", resp.ContentType), ("@b", resp.Body), ("@ts", e.TsMs)) == 1;
                        // Two requests with one Idempotency-Key ran at once (in different processes): the first to commit is the
                        // answer on record; the other is logged but not charged.
                        if (!first) e = e with { CostMicros = 0, TokensIn = 0, TokensOut = 0, Outcome = "duplicate_uncharged" };
                    }
                    // One prepared command for every row of the batch: only the values change.
                    insert ??= Cmd(c, tx, """
                        INSERT INTO requests (request_id, ts_ms, day, tenant, key_id, model, backend, tokens_in, tokens_out, cost_micros,
                          latency_ms, ttft_ms, status, outcome, client_disconnected, idempotency_key)
                        VALUES (@id, @ts, @day, @t, @k, @m, @b, @ti, @to, @c, @lat, @ttft, @s, @o, @cd, @ik)
                        ON CONFLICT DO NOTHING
                        """, ("@id", ""), ("@ts", 0L), ("@day", ""), ("@t", ""), ("@k", ""), ("@m", ""), ("@b", ""), ("@ti", 0L), ("@to", 0L), ("@c", 0L),
                        ("@lat", 0), ("@ttft", 0), ("@s", 0), ("@o", ""), ("@cd", 0), ("@ik", ""));
                    object?[] values = [e.RequestId, e.TsMs, Day(e.TsMs), e.Tenant, e.KeyId, e.Model,
                        e.Backend, e.TokensIn, e.TokensOut, e.CostMicros, e.LatencyMs, e.TtftMs, e.Status, e.Outcome, e.ClientDisconnected ? 1 : 0, e.IdempotencyKey];
                    for (var i = 0; i < values.Length; i++) insert.Parameters[i].Value = values[i] ?? DBNull.Value;
                    await insert.ExecuteNonQueryAsync(ct);
                    if (e.Reservation is { } r) await SettleAsync(c, tx, r, e.TokensIn + e.TokensOut, e.CostMicros);
                }
            }
            finally
            {
                if (insert is not null) await insert.DisposeAsync();
            }
            return 0;
        }, ct, ledgerWriter: true);

    private static readonly Dictionary<string, string> GroupColumns = new()
    {
        ["tenant"] = "tenant", ["key"] = "key_id", ["model"] = "model", ["backend"] = "COALESCE(backend, '')", ["day"] = "day",
    };

    public static IReadOnlyCollection<string> GroupNames => GroupColumns.Keys;

    public async Task<List<UsageRow>> UsageAsync(UsageQuery q, CancellationToken ct)
    {
        await BeforeReadAsync(ct);
        var col = GroupColumns[q.GroupBy];
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, $"""
            SELECT {col}, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost_micros), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)
            FROM requests WHERE ts_ms >= @from AND ts_ms < @to
              AND (CAST(@t AS TEXT) IS NULL OR tenant = @t) AND (CAST(@k AS TEXT) IS NULL OR key_id = @k)
              AND (CAST(@m AS TEXT) IS NULL OR model = @m) AND (CAST(@b AS TEXT) IS NULL OR backend = @b)
            GROUP BY {col} ORDER BY {col}
            """, ("@from", q.FromMs), ("@to", q.ToMs), ("@t", q.Tenant), ("@k", q.KeyId), ("@m", q.Model), ("@b", q.Backend));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<UsageRow>();
        while (await r.ReadAsync(ct))
            rows.Add(new UsageRow(r.GetString(0), Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)),
                Convert.ToInt64(r.GetValue(4)), Convert.ToInt64(r.GetValue(5))));
        return rows;
    }

    /// <summary>Models by tokens served over a period, with each one's share of tokens and of requests (successful requests only).</summary>
    public async Task<List<RankRow>> RankingsAsync(long fromMs, long toMs, CancellationToken ct)
    {
        await BeforeReadAsync(ct);
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, """
            SELECT model, COUNT(*), SUM(tokens_in + tokens_out) FROM requests
            WHERE ts_ms >= @from AND ts_ms < @to AND status < 400 GROUP BY model
            """, ("@from", fromMs), ("@to", toMs));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var raw = new List<(string Model, long Requests, long Tokens)>();
        while (await r.ReadAsync(ct)) raw.Add((r.GetString(0), Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2))));
        double totalReq = Math.Max(1, raw.Sum(x => x.Requests)), totalTok = Math.Max(1, raw.Sum(x => x.Tokens));
        return raw.OrderByDescending(x => x.Tokens).ThenByDescending(x => x.Requests).ThenBy(x => x.Model, StringComparer.Ordinal)
            .Select(x => new RankRow(x.Model, x.Requests, x.Tokens, x.Tokens / totalTok, x.Requests / totalReq)).ToList();
    }

    public async Task<List<LedgerEntry>> LedgerRowsAsync(CancellationToken ct)
    {
        await BeforeReadAsync(ct);
        await using var c = await OpenAsync(ct);
        await using var cmd = Cmd(c, null, """
            SELECT request_id, ts_ms, tenant, key_id, model, backend, tokens_in, tokens_out, cost_micros, latency_ms, ttft_ms, status, outcome,
              client_disconnected, idempotency_key FROM requests ORDER BY ts_ms, request_id
            """);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<LedgerEntry>();
        while (await r.ReadAsync(ct))
            rows.Add(new LedgerEntry(r.GetString(0), Convert.ToInt64(r.GetValue(1)), r.GetString(2), r.GetString(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), Convert.ToInt64(r.GetValue(6)), Convert.ToInt64(r.GetValue(7)), Convert.ToInt64(r.GetValue(8)),
                Convert.ToInt32(r.GetValue(9)), r.IsDBNull(10) ? null : Convert.ToInt32(r.GetValue(10)), Convert.ToInt32(r.GetValue(11)), r.GetString(12),
                Convert.ToInt64(r.GetValue(13)) != 0, r.IsDBNull(14) ? null : r.GetString(14), null, null));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        if (_pg is not null) await _pg.DisposeAsync();
        else SqliteConnection.ClearAllPools();
        _sqliteWrite.Dispose();
    }
}
