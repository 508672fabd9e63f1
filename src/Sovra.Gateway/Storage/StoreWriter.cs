using Microsoft.Extensions.Logging;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Writes the usage ledger. A request hands in its row and is only answered in full once the row is
/// durable; how depends on the store:
/// - SQLite, synchronous=NORMAL (the default): the row is appended to the row log (<see cref="RowLog"/>)
///   on the request's own thread — one write(), no hand-off to another thread and no wait — and its
///   reservation is settled in memory (<see cref="BudgetBook"/>). The ledger thread moves the log into
///   SQLite about ten times a second in large transactions (<see cref="IngestEvery"/>). Every read of the
///   ledger first waits for the rows already acknowledged (<see cref="FlushAsync"/>, the store's read barrier).
/// - SQLite, synchronous=FULL: group commit. Requests queue their row and wait; one thread owns one
///   connection with prepared statements (<see cref="SqliteWriteBatch"/>), commits everything queued in one
///   transaction (fsync included), then settles the reservations.
/// - PostgreSQL: group commit in an async loop over the pooled data source, settling the reservation rows
///   in the transaction.
/// WAL checkpoints (<see cref="CheckpointAsync"/>, about once a second) come in two steps: the bulk of the
/// work (syncing the WAL, copying its pages into the database) on another connection, beside the commits;
/// then the ledger thread, between two commits, checkpoints the few frames committed meanwhile. That one
/// completes (no commit runs beside it), so the next commit starts the WAL file over instead of growing it
/// without end.
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
    private Thread? _thread;
    private readonly Task? _pgLoop;

    /// <summary>How often the ledger thread moves the row log into SQLite (sooner when a read waits for it).</summary>
    public static readonly TimeSpan IngestEvery = TimeSpan.FromMilliseconds(100);
    private const int IngestBatch = 4096; // rows per SQLite transaction when ingesting at start, before requests run
    /// <summary>
    /// Rows per SQLite transaction while the gateway serves, with a yield of the core after each. One ingest of
    /// ~100 ms of rows in one transaction held a core for milliseconds, and on two cores the threads of the requests
    /// woken meanwhile waited for it (perf sched: the ledger thread was a third of the CPU time in front of
    /// wake-ups delayed over 0.5 ms); short transactions with a yield between them let them in. At equal load the
    /// gateway's p99 fell from 2.1–2.5 ms to 1.5–1.7 (streams); smaller transactions alone, without the yield, did not.
    /// </summary>
    private const int LiveIngestBatch = 128;
    private readonly bool _useRowLog;
    private RowLog? _rowLog;
    private List<TaskCompletionSource> _flushWaiters = [];
    private bool _ingestStopped; // under _lock
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="book">SQLite: the in-memory reservations this writer settles. Null for PostgreSQL.</param>
    public StoreWriter(GatewayStore store, BudgetBook? book, int batchMax, ILogger log)
    {
        _store = store;
        _book = book;
        _batchMax = Math.Max(1, batchMax);
        _log = log;
        if (store.IsPostgres) _pgLoop = Task.Run(RunPostgresAsync);
        else if (!store.SqliteSynchronousFull)
        {
            _useRowLog = true;
            store.ReadBarrier = FlushAsync;
        }
        else
        {
            _thread = new Thread(RunSqlite) { IsBackground = true, Name = "sovra-ledger-writer" };
            _thread.Start();
        }
    }

    /// <summary>
    /// Row log only (a no-op otherwise): ingests what an earlier process left in the row log, then opens it
    /// for this one. Call once this process owns the SQLite file and its schema is in place.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (!_useRowLog || _started.Task.IsCompleted) return;
        try
        {
            await Task.Run(() =>
            {
                IngestFiles(_store, emptyAfter: true, _log);
                _rowLog = new RowLog(_store.SqlitePath);
            }, ct);
            _thread = new Thread(RunIngest) { IsBackground = true, Name = "sovra-ledger-writer" };
            _thread.Start();
            _started.TrySetResult();
        }
        catch (Exception e)
        {
            _started.TrySetException(e);
            throw;
        }
    }

    /// <summary>
    /// Moves the rows of a ledger's row-log files into its SQLite tables (exactly once by request id), and
    /// with <paramref name="emptyAfter"/> empties the files (only the process that owns the ledger may). A
    /// damaged file (a record that fails its checksum with more after it) is ingested up to the damage and
    /// kept beside the ledger as "…-rows-N.damaged-&lt;unix ms&gt;" for the operator.
    /// </summary>
    internal static void IngestFiles(GatewayStore store, bool emptyAfter, ILogger? log)
    {
        var paths = RowLog.PathsOf(store.SqlitePath).Where(p => File.Exists(p) && new FileInfo(p).Length > 0).ToList();
        if (paths.Count == 0) return;
        using var writer = new SqliteWriteBatch(store.OpenSqliteWriter());
        var charged = new (long, long)[IngestBatch];
        foreach (var path in paths)
        {
            var tail = RowLog.ReadAll(path, IngestBatch, rows => writer.Commit(rows, charged));
            if (!emptyAfter) continue;
            if (tail == RowLog.Tail.Damaged) KeepDamaged(path, log);
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            f.SetLength(0);
        }
    }

    /// <summary>Completes when the row is durable in the ledger; faults when the commit failed.</summary>
    public Task WriteAsync(LedgerEntry entry)
    {
        if (_useRowLog) return Append(entry);
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

    private static void KeepDamaged(string path, ILogger? log)
    {
        var aside = $"{path}.damaged-{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}";
        File.Copy(path, aside);
        log?.LogError("the ledger's row log {File} is damaged after its last good row; the rows before were ingested and the file is kept as {Aside}",
            Path.GetFileName(path), Path.GetFileName(aside));
    }

    private Task Append(LedgerEntry entry)
    {
        var log = _rowLog;
        try
        {
            if (log is null || _closed) throw new InvalidOperationException(log is null ? "the ledger is not started" : "the ledger is shut down");
            log.Append(entry);
        }
        catch (Exception e)
        {
            if (entry.Reservation is { } held) _book!.Settle(held, 0, 0, committed: false);
            _log.LogError("ledger row {RequestId} not appended: {Error}", entry.RequestId, e.GetType().Name + ": " + e.Message);
            return Task.FromException(e);
        }
        if (entry.Reservation is { } r) _book!.Settle(r, entry.TokensIn + entry.TokensOut, entry.CostMicros, committed: true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Completes once every row acknowledged before the call is in the SQLite tables (row log; at once
    /// otherwise, where an acknowledged row is already committed). Faults when that ingestion failed.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        if (!_useRowLog) return;
        await _started.Task.WaitAsync(ct);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_ingestStopped) return; // its last ingestion took everything acknowledged
            _flushWaiters.Add(done);
            Monitor.Pulse(_lock);
        }
        await done.Task.WaitAsync(ct);
    }

    private void RunIngest()
    {
        SqliteWriteBatch? writer = null;
        var charged = new (long, long)[IngestBatch];
        var rowLog = _rowLog!;
        try
        {
            while (true)
            {
                List<TaskCompletionSource> waiters;
                bool closing;
                lock (_lock)
                {
                    if (!_closed && _flushWaiters.Count == 0) Monitor.Wait(_lock, IngestEvery);
                    (waiters, _flushWaiters) = (_flushWaiters, []);
                    closing = _closed;
                }
                Exception? error = null;
                try
                {
                    writer ??= new SqliteWriteBatch(_store.OpenSqliteWriter());
                    IngestOnce(rowLog, writer, charged);
                }
                catch (Exception e)
                {
                    // The rows stay in the sealed segment and are tried again next time; the connection may be in any state.
                    error = e;
                    writer?.Dispose();
                    writer = null;
                    _log.LogError("moving the row log into the ledger failed (kept, tried again): {Error}", e.GetType().Name + ": " + e.Message);
                }
                foreach (var w in waiters)
                    if (error is null) w.TrySetResult();
                    else w.TrySetException(error);
                if (_catchUp && writer is not null)
                {
                    _catchUp = false;
                    try { writer.Checkpoint(); }
                    catch (Exception e) { _log.LogWarning("WAL checkpoint failed: {Error}", e.GetType().Name); }
                }
                if (closing) break; // what a failure leaves stays in the row log, for the next start
                if (error is not null) Thread.Sleep(IngestEvery);
            }
        }
        finally
        {
            writer?.Dispose();
            lock (_lock)
            {
                _ingestStopped = true; // set with the last waiters completed: no later flush can wait for nothing
                foreach (var w in _flushWaiters) w.TrySetResult();
            }
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// Ingests the sealed segment left by a failed attempt, if any, then seals the open one and ingests it:
    /// every row appended before this call is in SQLite when it returns.
    /// </summary>
    private void IngestOnce(RowLog rowLog, SqliteWriteBatch writer, (long, long)[] charged)
    {
        var sealedNow = false;
        while (!sealedNow)
        {
            var s = rowLog.Sealed;
            if (s is null)
            {
                if (rowLog.Pending == 0) return;
                s = rowLog.Seal();
                sealedNow = true;
            }
            var tail = RowLog.ReadAll(s.Path, LiveIngestBatch, rows =>
            {
                writer.Commit(rows, charged);
                Thread.Yield();
            }, s.Length);
            // Only this process writes the file, whole records under a lock: anything but a clean end is a change by something else.
            if (tail != RowLog.Tail.Clean) KeepDamaged(s.Path, _log);
            rowLog.Empty(s);
        }
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

    /// <summary>Commits what is queued (moves the row log into SQLite), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        bool running;
        lock (_lock)
        {
            _closed = true;
            running = _thread is not null || _pgLoop is not null;
            Monitor.PulseAll(_lock);
        }
        _signal.Release();
        if (running) await _stopped.Task;
        _rowLog?.Dispose();
        _signal.Dispose();
        _started.TrySetException(new ObjectDisposedException(nameof(StoreWriter)));
        _ = _started.Task.Exception; // observed: nobody may be waiting
    }
}
