using Microsoft.Data.Sqlite;
using System.Text;
using SQLitePCL;

namespace Sovra.Gateway.Storage;

/// <summary>
/// The ledger writer's own SQLite connection and its prepared statements, kept for the life of the
/// process: a group commit costs one BEGIN IMMEDIATE / COMMIT, one bound insert per row, and one budget
/// upsert per (key, period) touched by the batch, with no SQL parsed and no connection opened. The
/// statements are driven through the SQLite C API directly (bound by position, text as UTF-16): the
/// ADO.NET layer would look every parameter up by name and re-encode every string on every row.
/// </summary>
internal sealed class SqliteWriteBatch : IDisposable
{
    private readonly SqliteConnection _c;
    private readonly sqlite3 _db;
    private sqlite3_stmt _begin = null!, _commit = null!, _rollback = null!, _insertRow = null!, _insertIdem = null!, _addUsage = null!, _checkpoint = null!;
    // (key, period) -> real usage this batch charges; reused from batch to batch.
    private readonly Dictionary<(string KeyId, string Period), (long Tokens, long Money)> _usage = new();

    public SqliteWriteBatch(SqliteConnection connection)
    {
        _c = connection;
        _db = connection.Handle!;
        try { Prepared(); }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Prepared()
    {
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
        _insertRow = Prepare("""
            INSERT INTO requests (request_id, ts_ms, day, tenant, key_id, model, backend, tokens_in, tokens_out, cost_micros,
              latency_ms, ttft_ms, status, outcome, client_disconnected, idempotency_key)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            ON CONFLICT DO NOTHING
            """);
        _insertIdem = Prepare("""
            INSERT INTO idempotency (key_id, idem_key, request_hash, request_id, status, content_type, body, created_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING
            """);
        _addUsage = Prepare("""
            INSERT INTO budget_usage (key_id, period, tokens, money) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (key_id, period) DO UPDATE SET tokens = tokens + excluded.tokens, money = money + excluded.money
            """);
        _checkpoint = Prepare("PRAGMA wal_checkpoint(RESTART)");
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_db, sql, out var stmt));
        return stmt;
    }

    private void Check(int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE)) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    /// <summary>Runs a statement to its end and resets it; the number of rows it changed.</summary>
    private int Run(sqlite3_stmt stmt)
    {
        int rc;
        while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW) { }
        raw.sqlite3_reset(stmt);
        Check(rc);
        return raw.sqlite3_changes(_db);
    }

    // Text is bound as UTF-8, the database's encoding (bound as UTF-16, every value would be converted once more),
    // encoded into this buffer; SQLite copies a bound value (SQLITE_TRANSIENT: the span is pinned only for the call).
    private byte[] _utf8 = new byte[1024];

    private void Text(sqlite3_stmt stmt, int i, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(stmt, i);
            return;
        }
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max > _utf8.Length) _utf8 = new byte[max];
        var n = Encoding.UTF8.GetBytes(value, _utf8);
        raw.sqlite3_bind_text(stmt, i, _utf8.AsSpan(0, n));
    }

    private static void Int(sqlite3_stmt stmt, int i, long? value)
    {
        if (value is { } v) raw.sqlite3_bind_int64(stmt, i, v);
        else raw.sqlite3_bind_null(stmt, i);
    }

    /// <summary>
    /// Copies the WAL into the database and waits for the readers still on the old WAL (RESTART), so the
    /// next commit writes the WAL file from its start again. Run between batches by the only writer.
    /// </summary>
    public void Checkpoint()
    {
        // Waiting for readers holds the write lock; a reader that stays (a long admin query) must not stall
        // the commits behind it: after a few milliseconds the checkpoint gives up, and the next one tries again.
        raw.sqlite3_busy_timeout(_db, 5);
        try { Run(_checkpoint); }
        finally { raw.sqlite3_busy_timeout(_db, 30_000); }
    }

    /// <summary>
    /// Commits the rows in one transaction: each row, the usage it charges to its key's day and month, and
    /// its replayable answer. Fills <paramref name="charged"/> with what each row really charged (zero for a
    /// duplicate Idempotency-Key). Throws, with nothing committed, when the transaction fails.
    /// </summary>
    public void Commit(IReadOnlyList<LedgerEntry> rows, Span<(long Tokens, long Money)> charged)
    {
        Run(_begin);
        try
        {
            _usage.Clear();
            for (var i = 0; i < rows.Count; i++)
            {
                var e = rows[i];
                if (e.IdempotencyKey is { } ik && e.IdempotentResponse is { } resp)
                {
                    Text(_insertIdem, 1, e.KeyId);
                    Text(_insertIdem, 2, ik);
                    Text(_insertIdem, 3, e.RequestHash ?? "");
                    Text(_insertIdem, 4, e.RequestId);
                    Int(_insertIdem, 5, resp.Status);
                    Text(_insertIdem, 6, resp.ContentType);
                    raw.sqlite3_bind_blob(_insertIdem, 7, resp.Body);
                    Int(_insertIdem, 8, e.TsMs);
                    // Another request with this key committed first (possible only across processes, i.e. not on
                    // an owned SQLite file, but cheap to keep exact): that one is the answer on record.
                    if (Run(_insertIdem) == 0) e = e with { CostMicros = 0, TokensIn = 0, TokensOut = 0, Outcome = "duplicate_uncharged" };
                }
                var s = _insertRow;
                Text(s, 1, e.RequestId);
                Int(s, 2, e.TsMs);
                Text(s, 3, GatewayStore.Day(e.TsMs));
                Text(s, 4, e.Tenant);
                Text(s, 5, e.KeyId);
                Text(s, 6, e.Model);
                Text(s, 7, e.Backend);
                Int(s, 8, e.TokensIn);
                Int(s, 9, e.TokensOut);
                Int(s, 10, e.CostMicros);
                Int(s, 11, e.LatencyMs);
                Int(s, 12, e.TtftMs);
                Int(s, 13, e.Status);
                Text(s, 14, e.Outcome);
                Int(s, 15, e.ClientDisconnected ? 1 : 0);
                Text(s, 16, e.IdempotencyKey);
                // A row already in the table (its row log ingested a second time, after a crash between the commit and
                // emptying the log) is not charged again: exactly once by request id.
                var inserted = Run(s) == 1;
                charged[i] = inserted ? (e.TokensIn + e.TokensOut, e.CostMicros) : (0, 0);
                if (e.Reservation is { } r && charged[i] != (0, 0))
                {
                    Add(r.KeyId, r.DayPeriod, charged[i]);
                    Add(r.KeyId, r.MonthPeriod, charged[i]);
                }
            }
            foreach (var ((key, period), (tokens, money)) in _usage)
            {
                Text(_addUsage, 1, key);
                Text(_addUsage, 2, period);
                Int(_addUsage, 3, tokens);
                Int(_addUsage, 4, money);
                Run(_addUsage);
            }
            Run(_commit);
        }
        catch
        {
            // Nothing of the batch stays; the caller drops this connection and opens a fresh one.
            if (raw.sqlite3_get_autocommit(_db) == 0) raw.sqlite3_step(_rollback);
            raw.sqlite3_reset(_rollback);
            throw;
        }
    }

    private void Add(string key, string period, (long Tokens, long Money) c)
    {
        var have = _usage.GetValueOrDefault((key, period));
        _usage[(key, period)] = (have.Tokens + c.Tokens, have.Money + c.Money);
    }

    public void Dispose()
    {
        foreach (var s in (ReadOnlySpan<sqlite3_stmt?>)[_begin, _commit, _rollback, _insertRow, _insertIdem, _addUsage, _checkpoint])
            s?.Dispose();
        _c.Dispose();
    }
}
