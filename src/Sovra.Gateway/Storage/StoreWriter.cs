using Microsoft.Extensions.Logging;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Group commit for the ledger: requests hand in their row and wait; one writer takes everything queued
/// (up to the batch limit) and commits it in one transaction, with the budget settlement and the
/// replayable answer of each row. A request is only answered in full after its row is committed.
/// SQLite: one dedicated thread owns one connection with prepared statements (<see cref="SqliteWriteBatch"/>)
/// and settles the in-memory reservations (<see cref="BudgetBook"/>) once the transaction is decided.
/// WAL checkpoints (<see cref="CheckpointAsync"/>, about once a second) come in two steps: the bulk of the
/// work (syncing the WAL, copying its pages into the database) on another connection, beside the commits;
/// then the writer, between two batches, checkpoints the few frames committed meanwhile. That one
/// completes (no commit runs beside it), so the next commit starts the WAL file over instead of growing it
/// without end, and it is short, so the requests waiting on the next commit hardly notice it.
/// PostgreSQL: an async loop over the pooled data source, settling the reservation rows in the transaction.
/// </summary>
public sealed class StoreWriter : IAsyncDisposable
{
    private readonly GatewayStore _store;
    private readonly BudgetBook? _book;
    private readonly int _batchMax;
    private readonly ILogger _log;
    private readonly Queue<(LedgerEntry Entry, TaskCompletionSource Done)> _queue = new();
    private readonly object _lock = new(); // a monitor: the SQLite writer thread waits on it
    private readonly SemaphoreSlim _signal = new(0); // PostgreSQL: one count per row queued
    private bool _writerWaiting;
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
            if (_writerWaiting) Monitor.Pulse(_lock);
        }
        if (_store.IsPostgres) _signal.Release();
        return done.Task;
    }

    /// <summary>Takes what is queued, up to the batch limit; false once closed and drained. With <paramref name="wait"/>, blocks until there is something.</summary>
    private bool Take(List<(LedgerEntry Entry, TaskCompletionSource Done)> batch, bool wait = false)
    {
        batch.Clear();
        lock (_lock)
        {
            while (wait && _queue.Count == 0 && !_closed)
            {
                _writerWaiting = true;
                Monitor.Wait(_lock);
                _writerWaiting = false;
            }
            while (batch.Count < _batchMax && _queue.TryDequeue(out var item)) batch.Add(item);
            return batch.Count > 0 || !_closed;
        }
    }

    private volatile bool _catchUp;

    /// <summary>Checkpoints the WAL (SQLite; nothing for PostgreSQL). See the class summary for the two steps.</summary>
    public async Task CheckpointAsync(CancellationToken ct)
    {
        await _store.CheckpointAsync(ct);
        if (!_store.IsPostgres) _catchUp = true;
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
                if (!Take(batch, wait: true)) break;
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
                if (_catchUp && writer is not null)
                {
                    _catchUp = false;
                    try { writer.Checkpoint(); }
                    catch (Exception e) { _log.LogWarning("WAL checkpoint failed: {Error}", e.GetType().Name); }
                }
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
        lock (_lock)
        {
            _closed = true;
            Monitor.PulseAll(_lock);
        }
        _signal.Release();
        await _stopped.Task;
        _signal.Dispose();
    }
}
