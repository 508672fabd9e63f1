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
}
