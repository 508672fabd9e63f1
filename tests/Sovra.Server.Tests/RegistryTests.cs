using Sovra.Engine.Scheduling;
using Sovra.Server.Models;
using Sovra.Server.Tests.Fakes;
using Sovra.TestSupport;

namespace Sovra.Server.Tests;

public sealed class RegistryTests
{
    [Fact]
    public async Task Models_load_on_first_use_and_the_least_recently_used_idle_one_is_unloaded_under_the_budget()
    {
        var dir = RepoPaths.Scratch("registry-lru");
        foreach (var id in new[] { "a", "b", "c" }) File.WriteAllText(Path.Combine(dir, id + ".gguf"), id);
        var made = new List<ScriptedServedModel>();
        var loader = new ScriptedLoader(e => { var m = new ScriptedServedModel(e.Id, new ScriptedModel(e.Id)); lock (made) made.Add(m); return m; });
        // Each model holds 1 MiB; the budget holds two.
        using var registry = new ModelRegistry(dir, [], loader, new ModelLoadSettings(64, 2, new SchedulerOptions(), 1), (2L << 20) + 1000);
        Assert.Empty(registry.LoadedModels);
        (await registry.AcquireAsync(registry.Find("a")!, default)).Dispose();
        (await registry.AcquireAsync(registry.Find("b")!, default)).Dispose();
        (await registry.AcquireAsync(registry.Find("a")!, default)).Dispose(); // a is now more recent than b
        Assert.Equal(["a", "b"], loader.Loaded);
        using (var c = await registry.AcquireAsync(registry.Find("c")!, default))
        {
            Assert.Equal(["a", "c"], registry.LoadedModels.Select(m => m.Id).Order());
            Assert.True(made.Single(m => m.Id == "b").Disposed);
            // A model in use is never unloaded, even over budget.
            using var a = await registry.AcquireAsync(registry.Find("a")!, default);
            using var b = await registry.AcquireAsync(registry.Find("b")!, default);
            Assert.Equal(3, registry.LoadedModels.Count);
        }
        Assert.Null(registry.Find("zzz"));
    }
}
