// Next-token parity with llama.cpp at the Qwen3-0.6B shape (28 layers, hidden 1024, 16/8 heads of 128, FFN 3072),
// the same metric as tests/Sovra.Engine.Tests/ParityTests: KL(llama.cpp ‖ Sovra) at each of 64 prompt positions,
// top-1 agreement, and greedy ids for 64 tokens. Usage: dotnet run -c Release -- [TYPE ...] (default: all).
using Sovra.Engine;
using Sovra.Engine.Cache;
using Sovra.Engine.Generation;
using Sovra.Engine.Sampling;
using Sovra.Engine.Tests;

string[] types = args.Length > 0 ? args : ["F32", "F16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K"];
var dir = Environment.GetEnvironmentVariable("SOVRA_BENCH_MODELS") ?? "/tmp/sovra-bench-models";
Directory.CreateDirectory(dir);
var shape = new ParityModels.Shape(Embd: 1024, Layers: 28, Heads: 16, KvHeads: 8, HeadDim: 128, Ff: 3072, Ctx: 4096);
var rnd = new Random(11);
var prompt = Enumerable.Range(0, 64).Select(_ => rnd.Next(0, 256)).ToArray();
Console.WriteLine("type     KL max    KL mean   top-1 agree  mean top-1 p  greedy-64 (min llama.cpp gap)");
foreach (var type in types)
{
    var path = Path.Combine(dir, $"parity-0.6b-{type}.gguf");
    if (!File.Exists(path)) ParityModels.Write(path, "qwen3", type, shape: shape);
    var greedy = type is "F32" or "F16" or "Q8_0" ? 64 : 0;
    var reference = LlamaReference.Run(path, prompt, ParityModels.Vocab, greedy);
    using var model = LanguageModel.Load(path);
    using var ctx = model.CreateContext(new ContextOptions { ContextLength = 256, MaxBatchTokens = 64, Threads = 2 });
    var batch = new Batch(64);
    for (var i = 0; i < 64; i++) batch.Add(prompt[i], i, 0, true);
    ctx.Decode(batch);
    double max = 0, mean = 0, top = 0;
    var agree = 0;
    for (var i = 0; i < 64; i++)
    {
        var logits = ctx.GetLogits(i);
        var lse = Sampler.LogSumExp(logits);
        var p = reference.Probabilities[i];
        double kl = 0;
        for (var t = 0; t < p.Length; t++) if (p[t] > 0) kl += p[t] * (Math.Log(p[t]) - (logits[t] - lse));
        max = Math.Max(max, kl); mean += kl / 64;
        var best = Array.IndexOf(p, p.Max());
        top += p[best] / 64;
        if (Sampler.TopLogprobs(logits, 1)[0].Token == best) agree++;
    }
    var g = "-";
    if (greedy > 0)
    {
        var ids = new Generator(model, ctx).Generate(prompt, new Sampler(SamplerSettings.Greedy),
            new GenerationLimits { MaxTokens = greedy, StopAtEndOfGeneration = false }).Select(x => x.Token).ToArray();
        var same = ids.Zip(reference.Greedy).TakeWhile(z => z.First == z.Second).Count();
        g = (same == greedy ? "identical" : $"first {same} identical") + $" ({reference.GreedyGaps.Min():F3})";
    }
    Console.WriteLine($"{type,-8} {max,8:E2}  {mean,8:E2}  {agree,5}/64      {top,8:F2}      {g}");
}
