using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Engine.Tests;

/// <summary>Runs llama.cpp (node-llama-cpp) on a model file: next-token probabilities at every prompt position and greedy ids.</summary>
internal static class LlamaReference
{
    private static readonly string Script = Path.Combine(RepoPaths.Reference, "scripts", "llama-eval.mjs");

    public sealed record Result(float[][] Probabilities, int[] Greedy, double[] GreedyGaps);

    public static Result Run(string model, int[] prompt, int vocab, int greedy, int threads = 2)
    {
        var outPath = model + ".probs";
        var request = JsonSerializer.Serialize(new { model, tokens = prompt, vocab, threads, @out = outPath, greedy });
        var r = ExternalProcess.Node(Script, [], stdin: request, timeout: TimeSpan.FromMinutes(3));
        var line = r.Stdout.Trim().Split('\n').LastOrDefault() ?? "";
        if (r.ExitCode != 0 || !line.StartsWith('{'))
            throw new InvalidOperationException($"llama.cpp reference failed (exit {r.ExitCode}): {r.Stdout} {r.Stderr}");
        var bytes = File.ReadAllBytes(outPath);
        var all = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, all, 0, bytes.Length);
        var probs = new float[prompt.Length][];
        for (var i = 0; i < prompt.Length; i++) probs[i] = all.AsSpan(i * vocab, vocab).ToArray();
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        return new Result(probs, root.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            root.GetProperty("gaps").EnumerateArray().Select(e => e.GetDouble()).ToArray());
    }
}
