using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

public class CliTests
{
    private static ExternalProcess.Result Sovra(params string[] args) =>
        ExternalProcess.Run(Path.Combine(RepoPaths.Root, "sovra"), args, timeout: TimeSpan.FromMinutes(5));

    [Fact]
    public void Help_lists_the_commands_and_exits_zero()
    {
        var r = Sovra("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("version", r.Stdout);
    }

    [Fact]
    public void Unknown_command_exits_non_zero_with_one_line_on_stderr()
    {
        var r = Sovra("no-such-command");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("sovra:", r.Stderr);
    }

    [Fact]
    public void Version_json_is_one_object()
    {
        var r = Sovra("version", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
        Assert.True(doc.RootElement.TryGetProperty("version", out _));
    }
}
