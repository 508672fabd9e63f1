using Sovra.Engine.Synthetic;
using Sovra.Server.Hosting;
using Sovra.Server.Models;
using Sovra.TestSupport;

namespace Sovra.Server.Tests.Fakes;

/// <summary>
/// One node with the real engine over a synthetic Qwen3 model (tiny shape, Q8_0, the real Qwen3 tokenizer
/// and chat template), shared by the end-to-end tests of one collection.
/// </summary>
public sealed class EngineNode : IAsyncLifetime
{
    public const string ModelId = "qwen3-tiny-q8_0";
    public string Dir { get; } = RepoPaths.Scratch("engine-node");
    public string ModelPath => Path.Combine(Dir, ModelId + ".gguf");
    internal NodeHost Host { get; private set; } = null!;
    public Uri BaseAddress => Host.BaseAddress;

    public async Task InitializeAsync()
    {
        SyntheticModel.Create(ModelShape.Get("qwen3-tiny"), TensorTypePolicy.Parse("Q8_0"), seed: 7, SyntheticTokenizer.Qwen3(SyntheticTokenizer.FindQwen3Directory())).WriteFile(ModelPath);
        var options = new ServerOptions { Port = 0, ModelsDir = Dir, ContextLength = 512, Parallel = 8, ShutdownTimeout = TimeSpan.FromSeconds(5), Threads = 2 };
        Host = NodeHost.Create(options, new EngineModelLoader(), handleSignals: false);
        await Host.StartAsync();
        await Host.WarmUpAsync();
    }

    public async Task DisposeAsync()
    {
        if (Host != null) await Host.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    public EngineServedModel Model => (EngineServedModel)Host.Registry.LoadedModels.Single();
}

[CollectionDefinition("engine")]
public sealed class EngineCollection : ICollectionFixture<EngineNode>;
