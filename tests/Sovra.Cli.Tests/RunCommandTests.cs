using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

/// <summary><c>sovra run</c> on a synthetic Qwen3 (real tokenizer and chat template, random weights).</summary>
public class RunCommandTests
{
    private static readonly Lazy<string> Model = new(() =>
    {
        var dir = RepoPaths.Scratch(nameof(RunCommandTests));
        var path = Path.Combine(dir, "qwen3-tiny-q8_0.gguf");
        var r = SynthCommandTests.Sovra("synth", "--preset", "qwen3-tiny", "--type", "Q8_0", "-o", path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return path;
    });

    private static int[] Tokens(params string[] args)
    {
        var r = SynthCommandTests.Sovra(["run", Model.Value, "--tokens", "-t", "2", .. args]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonSerializer.Deserialize<int[]>(r.Stdout.Trim())!;
    }

    [Fact]
    public void Greedy_is_the_same_every_time_and_respects_n()
    {
        var a = Tokens("-p", "Hello", "--temp", "0", "-n", "12");
        var b = Tokens("-p", "Hello", "--temp", "0", "-n", "12");
        Assert.Equal(a, b);
        Assert.InRange(a.Length, 1, 12);
    }

    [Fact]
    public void The_same_seed_gives_the_same_tokens_and_another_seed_others()
    {
        var a = Tokens("-p", "Hi", "--temp", "1.5", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "7", "-n", "16");
        var b = Tokens("-p", "Hi", "--temp", "1.5", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "7", "-n", "16");
        var c = Tokens("-p", "Hi", "--temp", "1.5", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "8", "-n", "16");
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Text_is_streamed_to_stdout_raw_or_through_the_chat_template()
    {
        foreach (var raw in new[] { true, false })
        {
            string[] args = ["run", Model.Value, "-p", "Tell me", "--temp", "0", "-n", "8", "-t", "2", "-v"];
            var r = SynthCommandTests.Sovra(raw ? [.. args, "--raw"] : args);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("first token after", r.Stderr);
            Assert.Contains("KV cache", r.Stderr);
        }
    }

    [Fact]
    public void Bad_files_and_arguments_fail_with_one_line()
    {
        var dir = RepoPaths.Scratch(nameof(Bad_files_and_arguments_fail_with_one_line));
        var junk = Path.Combine(dir, "junk.gguf");
        File.WriteAllBytes(junk, new byte[100]);
        foreach (var (args, expect, code) in new (string[], string, int)[]
        {
            (["run", Path.Combine(dir, "missing.gguf"), "-p", "x"], "does not exist", 1),
            (["run", junk, "-p", "x"], "not a valid GGUF file", 1),
            (["run", Model.Value, "-p", "x", "--kv-type", "q4"], "--kv-type", 2),
            (["run", Model.Value, "-p", "x", "--top-p", "0"], "top-p", 2),
        })
        {
            var r = SynthCommandTests.Sovra(args);
            Assert.Equal(code, r.ExitCode);
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Contains(expect, r.Stderr);
        }
    }
}
