namespace Sovra.Server.Models;

/// <summary>
/// The models a node serves: every *.gguf in the models folder (looked at again whenever a name is not
/// known, so a model pulled while the node runs is served at once) plus the files named on the command
/// line. A model is loaded on first use; when loading one would pass the memory budget, the least
/// recently used models that no request holds are unloaded first.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly string _modelsDir;
    private readonly IReadOnlyList<string> _extraFiles;
    private readonly IModelLoader _loader;
    private readonly ModelLoadSettings _settings;
    private readonly long _memoryBudget;
    private readonly object _gate = new();
    private readonly Dictionary<string, Loaded> _loaded = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private Dictionary<string, ModelEntry> _entries = new(StringComparer.Ordinal);
    private long _clock;

    public ModelRegistry(string modelsDir, IReadOnlyList<string> extraFiles, IModelLoader loader, ModelLoadSettings settings, long memoryBudget)
    {
        _modelsDir = modelsDir;
        _extraFiles = extraFiles;
        _loader = loader;
        _settings = settings;
        _memoryBudget = memoryBudget;
        Rescan();
    }

    /// <summary>Raised when a model is loaded (true) or unloaded (false).</summary>
    public event Action<IServedModel, bool>? LoadedChanged;

    public IReadOnlyList<ModelEntry> Entries
    {
        get { lock (_gate) return _entries.Values.OrderBy(e => e.Id, StringComparer.Ordinal).ToList(); }
    }

    public IReadOnlyList<IServedModel> LoadedModels
    {
        get { lock (_gate) return _loaded.Values.Select(l => l.Model).ToList(); }
    }

    public void Rescan()
    {
        var found = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        if (Directory.Exists(_modelsDir))
            foreach (var path in Directory.EnumerateFiles(_modelsDir, "*.gguf", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal))
                Add(found, path);
        foreach (var path in _extraFiles) Add(found, Path.GetFullPath(path));
        lock (_gate) _entries = found;
    }

    private static void Add(Dictionary<string, ModelEntry> found, string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return;
        found[ModelIds.FromFileName(info.Name)] = new ModelEntry(ModelIds.FromFileName(info.Name), info.FullName, info.Length, info.LastWriteTimeUtc);
    }

    public ModelEntry? Find(string id)
    {
        lock (_gate)
            if (_entries.TryGetValue(id, out var e)) return e;
        Rescan();
        lock (_gate) return _entries.GetValueOrDefault(id);
    }

    /// <summary>The loaded model, loading it first if needed. Dispose the lease when the request is done.</summary>
    public async Task<ModelLease> AcquireAsync(ModelEntry entry, CancellationToken cancellation)
    {
        lock (_gate)
            if (_loaded.TryGetValue(entry.Id, out var hit)) return Lease(hit);

        await _loadLock.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            lock (_gate)
                if (_loaded.TryGetValue(entry.Id, out var hit)) return Lease(hit);
            MakeRoom(_loader.EstimateBytes(entry, _settings));
            var model = await Task.Run(() => _loader.Load(entry, _settings), cancellation).ConfigureAwait(false);
            var loaded = new Loaded(model);
            lock (_gate) _loaded[entry.Id] = loaded;
            LoadedChanged?.Invoke(model, true);
            lock (_gate) return Lease(loaded);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    private ModelLease Lease(Loaded l)
    {
        l.Users++;
        l.LastUsed = ++_clock;
        return new ModelLease(l.Model, () => { lock (_gate) l.Users--; });
    }

    private void MakeRoom(long needed)
    {
        while (true)
        {
            Loaded? victim;
            lock (_gate)
            {
                var used = _loaded.Values.Sum(l => l.Model.ResidentBytes);
                if (used + needed <= _memoryBudget || _loaded.Count == 0) return;
                victim = _loaded.Values.Where(l => l.Users == 0).OrderBy(l => l.LastUsed).FirstOrDefault();
                if (victim == null) return; // everything loaded is busy: load over budget rather than fail
                _loaded.Remove(victim.Model.Id);
            }
            LoadedChanged?.Invoke(victim.Model, false);
            victim.Model.Dispose();
        }
    }

    public void Dispose()
    {
        List<Loaded> all;
        lock (_gate) { all = _loaded.Values.ToList(); _loaded.Clear(); }
        foreach (var l in all) l.Model.Dispose();
        _loadLock.Dispose();
    }

    private sealed class Loaded(IServedModel model)
    {
        public IServedModel Model { get; } = model;
        public int Users { get; set; }
        public long LastUsed { get; set; }
    }
}

/// <summary>Holds a model loaded while a request uses it.</summary>
public sealed class ModelLease(IServedModel model, Action release) : IDisposable
{
    private int _released;
    public IServedModel Model { get; } = model;
    public void Dispose() { if (Interlocked.Exchange(ref _released, 1) == 0) release(); }
}

public static class ModelIds
{
    /// <summary>The id clients use for a file: its name without .gguf (Qwen3-0.6B-Q8_0.gguf → Qwen3-0.6B-Q8_0).</summary>
    public static string FromFileName(string fileName) =>
        fileName.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? fileName[..^5] : fileName;
}
