using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

public class BenchCommandTests
{
    [Fact]
    public void Bench_json_reports_prompt_and_generation_speed()
    {
        var dir = RepoPaths.Scratch(nameof(BenchCommandTests));
        var path = Path.Combine(dir, "qwen2-tiny-f16.gguf");
        Assert.Equal(0, SynthCommandTests.Sovra("synth", "--preset", "qwen2-tiny", "--type", "F16", "-o", path).ExitCode);
        var r = SynthCommandTests.Sovra("bench", path, "-p", "32", "-n", "8", "-t", "2", "-r", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["pp32", "tg8"], results.Select(x => x.GetProperty("test").GetString()));
        foreach (var x in results)
        {
            Assert.True(x.GetProperty("mean_tps").GetDouble() > 0);
            Assert.Equal(2, x.GetProperty("runs_tps").GetArrayLength());
        }
        Assert.Equal("qwen2", doc.RootElement.GetProperty("architecture").GetString());

        var table = SynthCommandTests.Sovra("bench", path, "-p", "16", "-n", "0", "-r", "1");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("pp16", table.Stdout);
        Assert.Contains("±", table.Stdout);
    }

    [Fact]
    public void Bench_sequences_add_batched_generation_and_bad_counts_are_usage_errors()
    {
        var dir = RepoPaths.Scratch(nameof(BenchCommandTests) + "-s");
        var path = Path.Combine(dir, "qwen2-tiny-q8.gguf");
        Assert.Equal(0, SynthCommandTests.Sovra("synth", "--preset", "qwen2-tiny", "--type", "Q8_0", "-o", path).ExitCode);
        var r = SynthCommandTests.Sovra("bench", path, "-p", "0", "-n", "4", "-s", "2,3", "-t", "2", "-r", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["tg4", "tg4x2", "tg4x3"], results.Select(x => x.GetProperty("test").GetString()));
        Assert.Equal(12, results[2].GetProperty("tokens").GetInt32());
        Assert.All(results, x => Assert.True(x.GetProperty("mean_tps").GetDouble() > 0));
        Assert.Equal(2, SynthCommandTests.Sovra("bench", path, "-n", "4", "-s", "0").ExitCode);
        Assert.Equal(2, SynthCommandTests.Sovra("bench", path, "-n", "0", "-p", "8", "-s", "2").ExitCode);
    }
}
