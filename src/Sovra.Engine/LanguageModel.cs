using Sovra.Engine.Architectures;
using Sovra.Engine.Cache;
using Sovra.Engine.Model;
using Sovra.Gguf;

namespace Sovra.Engine;

/// <summary>
/// A loaded model: checked hyperparameters and weights bound in place, plus what generation needs from the
/// file (end-of-generation ids, chat template). Immutable; make one <see cref="InferenceContext"/> per user of it.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly IModelSource _source;
    private readonly DecoderModel _model;

    private LanguageModel(IModelSource source, DecoderModel model, IReadOnlySet<int> eog)
    {
        _source = source;
        _model = model;
        EndOfGeneration = eog;
    }

    public ModelHyperparameters Hyperparameters => _model.Hyperparameters;
    public string Architecture => _model.Hyperparameters.Architecture;
    public string? Name => _source.GetString("general.name");
    public string Path => _source.Path;
    public long FileBytes => _source.FileBytes;
    public IModelSource Source => _source;
    public bool TiedOutput => _model.TiedOutput;
    /// <summary>The type most of the matrices have (what llama.cpp calls the file type, e.g. Q8_0).</summary>
    public GgmlType MainType => _model.Embedding.Type == _model.Output.Type ? _model.Output.Type : _model.Output.Type;
    /// <summary>Tokens that end generation: tokenizer.ggml.eos_token_id, eot_token_id, eom_token_id.</summary>
    public IReadOnlySet<int> EndOfGeneration { get; }
    public string? ChatTemplate => _source.GetString("tokenizer.chat_template");

    /// <summary>Opens, checks and binds a GGUF model file.</summary>
    public static LanguageModel Load(string path)
    {
        GgufModelSource source;
        try { source = GgufModelSource.Open(path); }
        catch (GgufFormatException e) { throw new ModelLoadException($"{System.IO.Path.GetFileName(path)} is not a valid GGUF file: {e.Message}"); }
        return Load(source);
    }

    /// <summary>Checks and binds the model; a bad file throws <see cref="ModelLoadException"/> before any work.</summary>
    public static LanguageModel Load(IModelSource source, Func<GgmlType, bool>? matrixTypeSupported = null)
    {
        try
        {
            var arch = Architectures.Architecture.For(source.GetString("general.architecture"));
            var hp = arch.ReadHyperparameters(source);
            var model = arch.Build(hp, new WeightBinder(source, matrixTypeSupported ?? Weights.IsSupported));
            var eog = new HashSet<int>();
            foreach (var key in new[] { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" })
                if (source.GetInteger(key) is { } id && id >= 0 && id < hp.NVocab) eog.Add((int)id);
            return new LanguageModel(source, model, eog);
        }
        catch (GgufFormatException e)
        {
            source.Dispose();
            throw new ModelLoadException($"{System.IO.Path.GetFileName(source.Path)}: {e.Message}");
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes a context. The KV cache and buffers are sized from the options and checked against the memory
    /// this process may use; too large throws <see cref="ContextTooLargeException"/> without allocating.
    /// </summary>
    public InferenceContext CreateContext(ContextOptions? options = null)
    {
        options ??= new ContextOptions();
        var hp = Hyperparameters;
        var cells = options.ContextLength > 0 ? options.ContextLength : Math.Min(hp.NCtxTrain, 4096);
        if (options.MaxBatchTokens < 1) throw new ArgumentException("MaxBatchTokens must be at least 1");
        if (options.MaxSequences is < 1 or > KvCache.MaxSequenceIds) throw new ArgumentException($"MaxSequences must be 1..{KvCache.MaxSequenceIds}");
        if (options.KvType == KvCacheType.Q8_0 && (hp.KDim % 32 != 0 || hp.VDim % 32 != 0))
            throw new ArgumentException($"a Q8_0 KV cache needs K/V rows that are multiples of 32 ({hp.KDim}, {hp.VDim})");
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        var need = EstimateContextBytes(options with { ContextLength = cells, Threads = threads });
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (need > available * 0.9)
            throw new ContextTooLargeException(
                $"a context of {cells} tokens needs {need / (1 << 20)} MiB (KV cache {options.KvType} and buffers), more than the {available / (1 << 20)} MiB available");
        return new InferenceContext(_model, options, cells);
    }

    /// <summary>KV cache + activation bytes a context with these options would allocate.</summary>
    public long EstimateContextBytes(ContextOptions o)
    {
        var hp = Hyperparameters;
        var cells = o.ContextLength > 0 ? o.ContextLength : Math.Min(hp.NCtxTrain, 4096);
        var threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        return KvCache.BytesFor(cells, hp.NLayer, hp.KDim, hp.VDim, o.KvType)
            + Blocks.Workspace.BytesFor(hp, o.MaxBatchTokens, cells, threads)
            + 4L * hp.NVocab * Math.Min(o.MaxBatchTokens, o.MaxSequences);
    }

    public void Dispose() => _source.Dispose();
}
