using Sovra.Server.Hosting;
using Sovra.TestSupport;

namespace Sovra.Server.Tests;

public sealed class ConfigTests
{
    [Fact]
    public void File_then_environment_then_flags_each_override_the_one_before()
    {
        var dir = RepoPaths.Scratch("config-layers");
        var file = Path.Combine(dir, "serve.json");
        File.WriteAllText(file, """{ "port": 9000, "parallel": 3, "max_queue": 5, "memory_budget": "2G", /* comments are fine */ }""");
        var env = new Dictionary<string, string> { ["SOVRA_PARALLEL"] = "6", ["SOVRA_MAX_QUEUE"] = "7" };
        var (o, errors) = ServerConfigLoader.Load(file, new Dictionary<string, string> { ["max_queue"] = "9" }, [], k => env.GetValueOrDefault(k));
        Assert.Empty(errors);
        Assert.Equal(9000, o.Port);            // file
        Assert.Equal(6, o.Parallel);           // environment over file
        Assert.Equal(9, o.MaxQueue);           // flag over environment
        Assert.Equal(2L << 30, o.MemoryBudgetBytes);
        Assert.Equal("127.0.0.1", o.Host);     // default
    }

    [Fact]
    public void Every_problem_in_every_layer_is_collected()
    {
        var dir = RepoPaths.Scratch("config-errors");
        var file = Path.Combine(dir, "serve.json");
        File.WriteAllText(file, """{ "port": "eighty", "colour": "blue", "models": [1] }""");
        var env = new Dictionary<string, string> { ["SOVRA_THREADS"] = "-1" };
        var (_, errors) = ServerConfigLoader.Load(file, new Dictionary<string, string> { ["prefill_chunk"] = "100000" }, ["missing.gguf"], k => env.GetValueOrDefault(k));
        Assert.Contains(errors, e => e.Contains("port 'eighty' is not an integer"));
        Assert.Contains(errors, e => e.Contains("unknown setting 'colour'"));
        Assert.Contains(errors, e => e.Contains("'models' must be an array"));
        Assert.Contains(errors, e => e.Contains("threads -1"));
        Assert.Contains(errors, e => e.Contains("prefill_chunk 100000"));
        Assert.Contains(errors, e => e.Contains("missing.gguf does not exist"));
    }

    [Fact]
    public void A_config_file_that_was_named_but_is_missing_is_an_error() =>
        Assert.Contains(ServerConfigLoader.Load("/nonexistent/serve.json", new Dictionary<string, string>(), [], _ => null).Errors, e => e.Contains("does not exist"));
}
