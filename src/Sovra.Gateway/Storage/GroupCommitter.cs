using System.Threading.Channels;

namespace Sovra.Gateway.Storage;

/// <summary>
/// Runs queued items through one batch function at a time: whoever arrives while a batch commits goes into
/// the next one. Used for budget reservations, so N concurrent requests cost a few transactions, not N.
/// </summary>
public sealed class GroupCommitter<TIn, TOut> : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<TIn>, Task<TOut[]>> _commit;
    private readonly int _max;
    private readonly Channel<(TIn Item, TaskCompletionSource<TOut> Done)> _queue =
        Channel.CreateUnbounded<(TIn, TaskCompletionSource<TOut>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public GroupCommitter(Func<IReadOnlyList<TIn>, Task<TOut[]>> commit, int max)
    {
        _commit = commit;
        _max = max;
        _loop = Task.Run(RunAsync);
    }

    public Task<TOut> RunAsync(TIn item)
    {
        var done = new TaskCompletionSource<TOut>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((item, done))) done.SetException(new InvalidOperationException("shut down"));
        return done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<(TIn Item, TaskCompletionSource<TOut> Done)>(_max);
        var items = new List<TIn>(_max);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            items.Clear();
            while (batch.Count < _max && _queue.Reader.TryRead(out var x))
            {
                batch.Add(x);
                items.Add(x.Item);
            }
            try
            {
                var results = await _commit(items);
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
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
