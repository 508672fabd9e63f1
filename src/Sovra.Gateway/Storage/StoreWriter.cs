using Microsoft.Extensions.Logging;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Group commit for the ledger: requests hand in their row and wait; one writer takes everything queued
/// (up to the batch limit) and commits it in one transaction, with the budget settlement and the
/// replayable answer of each row. A request is only answered in full after its row is committed.
/// SQLite: one dedicated thread owns one connection with prepared statements (<see cref="SqliteWriteBatch"/>)
/// and settles the in-memory reservations (<see cref="BudgetBook"/>) once the transaction is decided.
/// PostgreSQL: an async loop over the pooled data source, settling the reservation rows in the transaction.
/// </summary>
public sealed class StoreWriter : IAsyncDisposable
{
    private readonly GatewayStore _store;
    private readonly BudgetBook? _book;
    private readonly int _batchMax;
    private readonly ILogger _log;
    private readonly Queue<(LedgerEntry Entry, TaskCompletionSource Done)> _queue = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _signal = new(0);
    private bool _closed;
    private readonly Thread? _thread;
    private readonly Task? _pgLoop;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="book">SQLite: the in-memory reservations this writer settles. Null for PostgreSQL.</param>
    public StoreWriter(GatewayStore store, BudgetBook? book, int batchMax, ILogger log)
    {
        _store = store;
        _book = book;
        _batchMax = Math.Max(1, batchMax);
        _log = log;
        if (store.IsPostgres) _pgLoop = Task.Run(RunPostgresAsync);
        else
        {
            _thread = new Thread(RunSqlite) { IsBackground = true, Name = "sovra-ledger-writer" };
            _thread.Start();
        }
    }

    /// <summary>Completes when the row is durable in the ledger; faults when the commit failed.</summary>
    public Task WriteAsync(LedgerEntry entry)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_closed)
            {
                done.SetException(new InvalidOperationException("the ledger is shut down"));
                return done.Task;
            }
            _queue.Enqueue((entry, done));
        }
        _signal.Release();
        return done.Task;
    }

    /// <summary>Takes what is queued, up to the batch limit; false once closed and drained.</summary>
    private bool Take(List<(LedgerEntry Entry, TaskCompletionSource Done)> batch)
    {
        batch.Clear();
        lock (_lock)
        {
            while (batch.Count < _batchMax && _queue.TryDequeue(out var item)) batch.Add(item);
            return batch.Count > 0 || !_closed;
        }
    }

    private void RunSqlite()
    {
        var batch = new List<(LedgerEntry Entry, TaskCompletionSource Done)>(_batchMax);
        var rows = new List<LedgerEntry>(_batchMax);
        var charged = new (long, long)[_batchMax];
        SqliteWriteBatch? writer = null;
        try
        {
            while (true)
            {
                _signal.Wait();
                if (!Take(batch)) break;
                if (batch.Count == 0) continue; // a signal whose item an earlier batch already took
                rows.Clear();
                foreach (var (e, _) in batch) rows.Add(e);
                var committed = false;
                Exception? error = null;
                try
                {
                    writer ??= new SqliteWriteBatch(_store.OpenSqliteWriter());
                    writer.Commit(rows, charged);
                    committed = true;
                }
                catch (Exception e)
                {
                    error = e;
                    // The connection may be in any state now: the next batch opens a fresh one.
                    writer?.Dispose();
                    writer = null;
                    _log.LogError("ledger commit of {Count} rows failed: {Error}", batch.Count, e.GetType().Name + ": " + e.Message);
                }
                for (var i = 0; i < batch.Count; i++)
                    if (rows[i].Reservation is { } r)
                        _book!.Settle(r, committed ? charged[i].Item1 : 0, committed ? charged[i].Item2 : 0, committed);
                foreach (var (_, done) in batch)
                    if (committed) done.TrySetResult();
                    else done.TrySetException(error!);
            }
        }
        finally
        {
            writer?.Dispose();
            _stopped.TrySetResult();
        }
    }

    private async Task RunPostgresAsync()
    {
        var batch = new List<(LedgerEntry Entry, TaskCompletionSource Done)>(_batchMax);
        var rows = new List<LedgerEntry>(_batchMax);
        try
        {
            while (true)
            {
                await _signal.WaitAsync();
                if (!Take(batch)) break;
                if (batch.Count == 0) continue;
                rows.Clear();
                foreach (var (e, _) in batch) rows.Add(e);
                try
                {
                    await _store.WriteBatchAsync(rows, CancellationToken.None);
                    foreach (var (_, done) in batch) done.TrySetResult();
                }
                catch (Exception e)
                {
                    _log.LogError("ledger commit of {Count} rows failed: {Error}", batch.Count, e.GetType().Name + ": " + e.Message);
                    foreach (var (_, done) in batch) done.TrySetException(e);
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Commits what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock) _closed = true;
        _signal.Release();
        await _stopped.Task;
        _signal.Dispose();
    }
}
