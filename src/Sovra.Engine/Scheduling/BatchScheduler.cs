using System.Collections.Concurrent;
using System.Diagnostics;

using Sovra.Engine.Sampling;

namespace Sovra.Engine.Scheduling;

/// <summary>
/// Continuous batching over one model. Every step runs a single batched forward pass holding one token
/// of every sequence that is generating plus chunks of the prompts being read; a request submitted while
/// others run joins at the next step. A prompt that starts with the tokens of a cached or running
/// sequence reuses its KV. KV memory is a pool: each sequence reserves prompt + max tokens (capped at
/// the context) when it is admitted, so once running it never runs out; a request that does not fit
/// waits until others finish, after cached prefixes have been evicted, least recently used first.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly IBatchModel _model;
    private readonly SchedulerOptions _options;
    private readonly ConcurrentQueue<GenerationHandle> _incoming = new();
    private readonly List<GenerationHandle> _waiting = [];
    private readonly List<Running> _active = [];
    private readonly LinkedList<CachedSlot> _cached = []; // most recently used first
    private readonly Stack<int> _freeIds = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _waitingCount;
    private int _reservedCells;
    private long _steps;
    private float[] _logits = [];
    private BatchToken[] _batch = [];

    public BatchScheduler(IBatchModel model, SchedulerOptions? options = null)
    {
        _model = model;
        _options = options ?? new SchedulerOptions();
        var errors = _options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        for (var id = model.MaxSequences - 1; id >= 0; id--) _freeIds.Push(id);
        _thread = new Thread(Loop) { IsBackground = true, Name = "sovra-scheduler" };
        _thread.Start();
    }

    /// <summary>Raised on the scheduler thread after every forward step.</summary>
    public event Action<StepInfo>? StepCompleted;

    public IBatchModel Model => _model;

    public bool IsRunning => _thread.IsAlive && !_stopping;

    public SchedulerStats Stats
    {
        get
        {
            lock (_active)
                return new SchedulerStats(_active.Count, Volatile.Read(ref _waitingCount), _cached.Count,
                    _reservedCells + _cached.Sum(c => c.Tokens.Count), _model.KvCapacity, Interlocked.Read(ref _steps));
        }
    }

    /// <summary>Cells a request reserves while it runs.</summary>
    public int ReservationFor(int promptTokens, int maxTokens) => (int)Math.Min((long)promptTokens + Math.Max(maxTokens, 0), _model.ContextLength);

    /// <summary>Queues a sequence; it starts at the next step that has room for it.</summary>
    /// <exception cref="RequestTooLargeException">The prompt can never fit this model.</exception>
    public GenerationHandle Submit(GenerationRequest request, CancellationToken cancellation = default)
    {
        if (request.Prompt.Count == 0) throw new ArgumentException("the prompt has no tokens");
        if (request.Prompt.Count >= _model.ContextLength)
            throw new RequestTooLargeException($"the prompt has {request.Prompt.Count} tokens; this model's context holds {_model.ContextLength}, and at least one must be left to generate",
                request.Prompt.Count, _model.ContextLength);
        var reserve = ReservationFor(request.Prompt.Count, request.MaxTokens);
        if (reserve > _model.KvCapacity)
            throw new RequestTooLargeException($"the prompt and max tokens need {reserve} KV cells; the pool holds {_model.KvCapacity}", request.Prompt.Count, _model.KvCapacity);
        if (_stopping) throw new ObjectDisposedException(nameof(BatchScheduler));
        var handle = new GenerationHandle(request);
        if (cancellation.CanBeCanceled)
            cancellation.Register(static h => { var g = (GenerationHandle)h!; g.Cancel(); }, handle);
        Interlocked.Increment(ref _waitingCount);
        _incoming.Enqueue(handle);
        _wake.Set();
        return handle;
    }

    /// <summary>Wakes the loop so it notices a stop or cancel at once rather than at the next step.</summary>
    public void Poke() => _wake.Set();

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _wake.Dispose();
    }

    private void Loop()
    {
        while (!_stopping)
        {
            while (_incoming.TryDequeue(out var h)) _waiting.Add(h);
            DropStopped();
            Admit();
            if (_active.Count == 0)
            {
                _wake.WaitOne(100);
                continue;
            }
            Step();
        }
        lock (_active)
        {
            while (_incoming.TryDequeue(out var h)) _waiting.Add(h);
            foreach (var h in _waiting) { Interlocked.Decrement(ref _waitingCount); h.Finish(new GenerationResult(FinishReason.Cancelled, h.Request.Prompt.Count, 0, 0)); }
            _waiting.Clear();
            foreach (var r in _active.ToArray()) Finish(r, FinishReason.Cancelled, keepCache: false);
        }
    }

    private void DropStopped()
    {
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            var h = _waiting[i];
            if (h.StopRequested == 0) continue;
            _waiting.RemoveAt(i);
            Interlocked.Decrement(ref _waitingCount);
            h.Finish(new GenerationResult(h.StopRequested == 2 ? FinishReason.Cancelled : FinishReason.Stop, h.Request.Prompt.Count, 0, 0));
        }
        foreach (var r in _active.ToArray())
            if (r.Handle.StopRequested != 0)
                Finish(r, r.Handle.StopRequested == 2 ? FinishReason.Cancelled : FinishReason.Stop, keepCache: r.Handle.StopRequested == 1);
    }

    private void Admit()
    {
        while (_waiting.Count > 0)
        {
            var h = _waiting[0];
            var prompt = h.Request.Prompt;
            var reserve = ReservationFor(prompt.Count, h.Request.MaxTokens);

            // The longest prefix of the prompt already in some sequence's KV (leaving one token to compute).
            CachedSlot? bestCached = null;
            Running? bestActive = null;
            var best = 0;
            if (_options.PrefixCache)
            {
                foreach (var c in _cached)
                {
                    var l = CommonPrefix(c.Tokens, prompt);
                    if (l > best) { best = l; bestCached = c; bestActive = null; }
                }
                foreach (var r in _active)
                {
                    var l = CommonPrefix(r.Kv, prompt);
                    if (l > best && l >= _options.MinCopiedPrefix) { best = l; bestActive = r; bestCached = null; }
                }
                if (bestCached == null && bestActive == null) best = 0;
            }

            lock (_active)
            {
                var fits = () => _reservedCells + _cached.Sum(c => c.Tokens.Count) - (bestCached?.Tokens.Count ?? 0) + reserve <= _model.KvCapacity;
                while (!fits() && EvictOne(except: bestCached)) { }
                if (!fits()) return; // wait for running sequences to finish
                if (bestCached == null && _freeIds.Count == 0 && !EvictOne(except: null)) return; // no free sequence id

                int id;
                List<int> kv;
                if (bestCached != null)
                {
                    _cached.Remove(bestCached);
                    id = bestCached.Id;
                    kv = bestCached.Tokens;
                    _model.Truncate(id, best);
                    kv.RemoveRange(best, kv.Count - best);
                }
                else
                {
                    id = _freeIds.Pop();
                    kv = new List<int>(reserve);
                    if (bestActive != null)
                    {
                        _model.CopyPrefix(bestActive.Id, id, best);
                        for (var i = 0; i < best; i++) kv.Add(bestActive.Kv[i]);
                    }
                }
                _waiting.RemoveAt(0);
                Interlocked.Decrement(ref _waitingCount);
                _reservedCells += reserve;
                _active.Add(new Running(h, id, kv, reserve, best, new Sampler(h.Request.Sampling)));
            }
        }
    }

    private bool EvictOne(CachedSlot? except)
    {
        for (var node = _cached.Last; node != null; node = node.Previous)
        {
            if (ReferenceEquals(node.Value, except)) continue;
            _cached.Remove(node);
            _model.Free(node.Value.Id);
            _freeIds.Push(node.Value.Id);
            return true;
        }
        return false;
    }

    private void Step()
    {
        var started = Stopwatch.GetTimestamp();
        var budget = _options.MaxBatchTokens;
        if (_batch.Length < budget + _active.Count) _batch = new BatchToken[budget + _active.Count];
        var n = 0;
        var wanted = new List<Running>(_active.Count);
        var decoding = 0;
        // Sequences that are generating go first, one token each, so none of them waits for a prompt.
        foreach (var r in _active)
        {
            if (!r.PromptDone || budget == 0) continue;
            _batch[n++] = new BatchToken(r.Pending, r.Kv.Count, r.Id, true);
            r.Kv.Add(r.Pending);
            wanted.Add(r);
            decoding++;
            budget--;
        }
        var prefill = 0;
        foreach (var r in _active)
        {
            if (r.PromptDone || budget == 0) continue;
            var prompt = r.Handle.Request.Prompt;
            var chunk = Math.Min(Math.Min(prompt.Count - r.Kv.Count, _options.PrefillChunk), budget);
            for (var k = 0; k < chunk; k++)
            {
                var pos = r.Kv.Count;
                var last = pos == prompt.Count - 1;
                _batch[n++] = new BatchToken(prompt[pos], pos, r.Id, last);
                r.Kv.Add(prompt[pos]);
                if (last) wanted.Add(r);
            }
            budget -= chunk;
            prefill += chunk;
        }
        if (n == 0) return;

        var vocab = _model.VocabSize;
        if (_logits.Length < wanted.Count * vocab) _logits = new float[wanted.Count * vocab];
        try
        {
            _model.Forward(_batch.AsSpan(0, n), _logits.AsSpan(0, wanted.Count * vocab));
        }
        catch (Exception e)
        {
            foreach (var r in _active.ToArray()) Finish(r, FinishReason.Error, keepCache: false, e);
            return;
        }
        Interlocked.Increment(ref _steps);

        // Rows come back in batch order; decode rows first, then the prompts that just finished, as added.
        for (var row = 0; row < wanted.Count; row++)
        {
            var r = wanted[row];
            var picked = r.Sampler.Next(_logits.AsSpan(row * vocab, vocab));
            var token = new GeneratedToken(picked.Token, picked.Logprob ?? 0f, picked.TopLogprobs);
            r.PromptDone = true;
            if (r.Handle.Request.StopTokens.Contains(token.Token))
            {
                Finish(r, FinishReason.Stop, keepCache: true);
                continue;
            }
            r.Generated++;
            r.Handle.Emit(token);
            r.Pending = token.Token;
            if (r.Generated >= r.Handle.Request.MaxTokens || r.Kv.Count + 1 >= _model.ContextLength)
                Finish(r, FinishReason.Length, keepCache: true);
        }
        StepCompleted?.Invoke(new StepInfo(n, decoding, prefill, Stopwatch.GetElapsedTime(started)));
    }

    private void Finish(Running r, FinishReason reason, bool keepCache, Exception? error = null)
    {
        lock (_active)
        {
            _active.Remove(r);
            _reservedCells -= r.Reserve;
            if (keepCache && _options.PrefixCache && r.Kv.Count > 0)
                _cached.AddFirst(new CachedSlot(r.Id, r.Kv));
            else
            {
                _model.Free(r.Id);
                _freeIds.Push(r.Id);
            }
        }
        r.Handle.Finish(new GenerationResult(reason, r.Handle.Request.Prompt.Count, r.Cached, r.Generated, error));
    }

    private static int CommonPrefix(List<int> kv, IReadOnlyList<int> prompt)
    {
        var max = Math.Min(kv.Count, prompt.Count - 1);
        var i = 0;
        while (i < max && kv[i] == prompt[i]) i++;
        return i;
    }

    private sealed class Running(GenerationHandle handle, int id, List<int> kv, int reserve, int cached, Sampler sampler)
    {
        public GenerationHandle Handle { get; } = handle;
        public int Id { get; } = id;
        /// <summary>Tokens whose KV is in the cache, position by position.</summary>
        public List<int> Kv { get; } = kv;
        public int Reserve { get; } = reserve;
        public int Cached { get; } = cached;
        public Sampler Sampler { get; } = sampler;
        public bool PromptDone { get; set; }
        public int Pending { get; set; }
        public int Generated { get; set; }
    }

    private sealed class CachedSlot(int id, List<int> tokens)
    {
        public int Id { get; } = id;
        public List<int> Tokens { get; } = tokens;
    }
}
