using Sovra.Engine.Blocks;
using Sovra.Engine.Cache;
using Sovra.Engine.Model;

namespace Sovra.Engine;

/// <summary>
/// The mutable state of inference over one model: the multi-sequence KV cache, the activation buffers and
/// the logits of the last step. One caller at a time.
/// </summary>
public sealed class InferenceContext : IDisposable
{
    private readonly DecoderModel _model;
    private readonly Workspace _ws;
    private readonly BatchPlan _plan;
    private readonly Compute _compute;
    private int[] _logitRows;            // [max_tokens] batch index of each logits row
    private readonly int[] _rowOfBatch;  // [max_tokens] logits row of each batch index, -1 when none
    private float[] _logits = [];        // [n_logit_rows, n_vocab]
    private int _lastCount;

    internal InferenceContext(DecoderModel model, ContextOptions options, int cells)
    {
        _model = model;
        var hp = model.Hyperparameters;
        _compute = new Compute(options.Threads);
        Kv = new KvCache(cells, options.MaxSequences, hp.NLayer, hp.KDim, hp.VDim, options.KvType);
        _ws = new Workspace(hp, options.MaxBatchTokens, cells, _compute.Threads);
        _plan = new BatchPlan(options.MaxBatchTokens, cells, options.MaxSequences);
        _logitRows = new int[options.MaxBatchTokens];
        _rowOfBatch = new int[options.MaxBatchTokens];
        Options = options with { ContextLength = cells, Threads = _compute.Threads };
    }

    public ContextOptions Options { get; }
    public KvCache Kv { get; }
    public int Threads => _compute.Threads;
    public int VocabularySize => _model.Hyperparameters.NVocab;
    public long KvCacheBytes => Kv.Bytes;
    public long ActivationBytes => _ws.Bytes + _logits.LongLength * 4;

    /// <summary>
    /// Runs the batch through the model: each token's K/V goes into the cache under its sequence, and the
    /// entries that asked for logits get them (read with <see cref="GetLogits"/> until the next call).
    /// Everything is checked before the cache changes.
    /// </summary>
    public void Decode(Batch batch)
    {
        var n = batch.Count;
        if (n == 0) throw new ArgumentException("the batch is empty");
        if (n > _ws.MaxTokens) throw new ArgumentException($"the batch has {n} tokens, the context was made for at most {_ws.MaxTokens}");
        var vocab = VocabularySize;
        foreach (var tok in batch.Tokens)
            if ((uint)tok >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {tok} is outside the vocabulary of {vocab}");
        var rows = 0;
        for (var t = 0; t < n; t++)
        {
            _rowOfBatch[t] = batch.WantsLogits[t] ? rows : -1;
            if (batch.WantsLogits[t]) _logitRows[rows++] = t;
        }
        if (_logits.Length < rows * vocab) _logits = new float[rows * vocab];
        _plan.Build(batch, Kv);
        _lastCount = n;
        _model.Forward(_ws, batch, _plan, Kv, _compute, _logitRows.AsSpan(0, rows), _logits);
    }

    /// <summary>Logits [n_vocab] of batch entry <paramref name="batchIndex"/> of the last Decode.</summary>
    public ReadOnlySpan<float> GetLogits(int batchIndex)
    {
        if ((uint)batchIndex >= (uint)_lastCount || _rowOfBatch[batchIndex] < 0)
            throw new ArgumentException($"batch entry {batchIndex} did not ask for logits in the last step");
        return _logits.AsSpan(_rowOfBatch[batchIndex] * VocabularySize, VocabularySize);
    }

    public void Dispose() { }
}
