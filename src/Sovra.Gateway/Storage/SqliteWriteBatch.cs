using Microsoft.Data.Sqlite;

namespace Sovra.Gateway.Storage;

/// <summary>
/// The ledger writer's own SQLite connection and its prepared statements, kept for the life of the
/// process: a group commit costs one BEGIN IMMEDIATE / COMMIT, one bound insert per row, and one budget
/// upsert per (key, period) touched by the batch, with no SQL parsed and no connection opened.
/// </summary>
internal sealed class SqliteWriteBatch : IDisposable
{
    private readonly SqliteConnection _c;
    private readonly SqliteCommand _insertRow, _insertIdem, _addUsage;
    // (key, period) -> real usage this batch charges; reused from batch to batch.
    private readonly Dictionary<(string KeyId, string Period), (long Tokens, long Money)> _usage = new();

    public SqliteWriteBatch(SqliteConnection connection)
    {
        _c = connection;
        _insertRow = Prepare("""
            INSERT INTO requests (request_id, ts_ms, day, tenant, key_id, model, backend, tokens_in, tokens_out, cost_micros,
              latency_ms, ttft_ms, status, outcome, client_disconnected, idempotency_key)
            VALUES ($id, $ts, $day, $t, $k, $m, $b, $ti, $to, $c, $lat, $ttft, $s, $o, $cd, $ik)
            ON CONFLICT DO NOTHING
            """, "$id", "$ts", "$day", "$t", "$k", "$m", "$b", "$ti", "$to", "$c", "$lat", "$ttft", "$s", "$o", "$cd", "$ik");
        _insertIdem = Prepare("""
            INSERT INTO idempotency (key_id, idem_key, request_hash, request_id, status, content_type, body, created_ms)
            VALUES ($k, $i, $h, $r, $s, $ct, $b, $ts) ON CONFLICT DO NOTHING
            """, "$k", "$i", "$h", "$r", "$s", "$ct", "$b", "$ts");
        _addUsage = Prepare("""
            INSERT INTO budget_usage (key_id, period, tokens, money) VALUES ($k, $p, $t, $c)
            ON CONFLICT (key_id, period) DO UPDATE SET tokens = tokens + excluded.tokens, money = money + excluded.money
            """, "$k", "$p", "$t", "$c");
    }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var cmd = _c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var n in names) cmd.Parameters.Add(new SqliteParameter(n, DBNull.Value));
        cmd.Prepare();
        return cmd;
    }

    private static void Bind(SqliteCommand cmd, params ReadOnlySpan<object?> values)
    {
        for (var i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
    }

    /// <summary>
    /// Commits the rows in one transaction: each row, the usage it charges to its key's day and month, and
    /// its replayable answer. Fills <paramref name="charged"/> with what each row really charged (zero for a
    /// duplicate Idempotency-Key). Throws, with nothing committed, when the transaction fails.
    /// </summary>
    public void Commit(IReadOnlyList<LedgerEntry> rows, Span<(long Tokens, long Money)> charged)
    {
        using var tx = _c.BeginTransaction(deferred: false);
        _insertRow.Transaction = _insertIdem.Transaction = _addUsage.Transaction = tx;
        _usage.Clear();
        for (var i = 0; i < rows.Count; i++)
        {
            var e = rows[i];
            if (e.IdempotencyKey is { } ik && e.IdempotentResponse is { } resp)
            {
                Bind(_insertIdem, e.KeyId, ik, e.RequestHash ?? "", e.RequestId, resp.Status, resp.ContentType, resp.Body, e.TsMs);
                // Another request with this key committed first (possible only across processes, i.e. not on
                // an owned SQLite file, but cheap to keep exact): that one is the answer on record.
                if (_insertIdem.ExecuteNonQuery() == 0) e = e with { CostMicros = 0, TokensIn = 0, TokensOut = 0, Outcome = "duplicate_uncharged" };
            }
            Bind(_insertRow, e.RequestId, e.TsMs, GatewayStore.Day(e.TsMs), e.Tenant, e.KeyId, e.Model, e.Backend, e.TokensIn, e.TokensOut, e.CostMicros,
                e.LatencyMs, e.TtftMs, e.Status, e.Outcome, e.ClientDisconnected ? 1 : 0, e.IdempotencyKey);
            _insertRow.ExecuteNonQuery();
            charged[i] = (e.TokensIn + e.TokensOut, e.CostMicros);
            if (e.Reservation is { } r && charged[i] != (0, 0))
            {
                Add(r.KeyId, r.DayPeriod, charged[i]);
                Add(r.KeyId, r.MonthPeriod, charged[i]);
            }
        }
        foreach (var ((key, period), (tokens, money)) in _usage)
        {
            Bind(_addUsage, key, period, tokens, money);
            _addUsage.ExecuteNonQuery();
        }
        tx.Commit();
    }

    private void Add(string key, string period, (long Tokens, long Money) c)
    {
        var have = _usage.GetValueOrDefault((key, period));
        _usage[(key, period)] = (have.Tokens + c.Tokens, have.Money + c.Money);
    }

    public void Dispose()
    {
        _insertRow.Dispose();
        _insertIdem.Dispose();
        _addUsage.Dispose();
        _c.Dispose();
    }
}
