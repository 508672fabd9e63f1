using Sovra.Server.Hosting;
using Sovra.Server.Models;
using Sovra.TestSupport;

namespace Sovra.Server.Tests.Fakes;

/// <summary>A node on a free loopback port over a temporary models folder; disposed at the end of each test.</summary>
internal sealed class TestNode : IAsyncDisposable
{
    private TestNode(NodeHost host, string dir)
    {
        Host = host;
        Dir = dir;
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public NodeHost Host { get; }
    public string Dir { get; }
    public HttpClient Http { get; }
    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>Starts a node whose models folder holds one "file" per script (id → script text).</summary>
    public static async Task<TestNode> StartAsync(string name, IReadOnlyDictionary<string, string> scripts, IModelLoader? loader = null,
        Func<ServerOptions, ServerOptions>? configure = null)
    {
        var dir = RepoPaths.Scratch("server-" + name);
        foreach (var (id, script) in scripts) File.WriteAllText(Path.Combine(dir, id + ".gguf"), script);
        var options = new ServerOptions { Host = "127.0.0.1", Port = 0, ModelsDir = dir, ContextLength = 512, Parallel = 4, ShutdownTimeout = TimeSpan.FromSeconds(5) };
        if (configure != null) options = configure(options);
        var host = NodeHost.Create(options, loader ?? new ScriptedLoader(), handleSignals: false);
        try { await host.StartAsync(); }
        catch { await host.DisposeAsync(); throw; }
        return new TestNode(host, dir);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
