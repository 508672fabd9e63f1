using Sovra.Gguf;
using Sovra.TestSupport;
using Xunit.Abstractions;
namespace Sovra.Engine.Tests;
public class SeedScanTmp(ITestOutputHelper output)
{
    [Fact]
    public void Scan()
    {
        foreach (var (arch, type) in new[] { ("qwen3", GgmlType.F32), ("qwen3", GgmlType.Q8_0), ("qwen3", GgmlType.F16), ("qwen2", GgmlType.F32), ("llama", GgmlType.F32) })
        {
            var dir = RepoPaths.Scratch($"scan-{arch}-{type}");
            var path = Path.Combine(dir, $"{arch}.gguf");
            ParityModels.Write(path, arch, type);
            var line = $"{arch} {type}:";
            for (var seed = 1; seed <= 12; seed++)
            {
                var r = new Random(seed);
                var prompt = Enumerable.Range(0, 64).Select(_ => r.Next(0, 256)).ToArray();
                var reff = LlamaReference.Run(path, prompt, ParityModels.Vocab, 64);
                line += $" {seed}:{reff.GreedyGaps.Min():F3}";
            }
            output.WriteLine(line);
        }
    }
}
