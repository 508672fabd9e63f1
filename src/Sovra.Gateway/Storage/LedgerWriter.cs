using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Group commit for the ledger: requests hand in their row and wait; one loop takes everything queued
/// (up to the batch limit) and commits it in one transaction, so a thousand concurrent requests cost a
/// few commits, not a thousand. A request is only answered in full after its row is committed.
/// </summary>
public sealed class LedgerWriter : IAsyncDisposable
{
    private readonly GatewayStore _store;
    private readonly int _batchMax;
    private readonly ILogger _log;
    private readonly Channel<(LedgerEntry Entry, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(LedgerEntry, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public LedgerWriter(GatewayStore store, int batchMax, ILogger log)
    {
        _store = store;
        _batchMax = batchMax;
        _log = log;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes when the row is durable in the ledger; faults when the commit failed.</summary>
    public Task WriteAsync(LedgerEntry entry)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((entry, done))) done.SetException(new InvalidOperationException("the ledger is shut down"));
        return done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<(LedgerEntry Entry, TaskCompletionSource Done)>(_batchMax);
        var rows = new List<LedgerEntry>(_batchMax);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            rows.Clear();
            while (batch.Count < _batchMax && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
                rows.Add(item.Entry);
            }
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

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }
}
