using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Sovra.Engine;
using Sovra.Engine.Benchmarking;
using Sovra.Engine.Cache;

namespace Sovra.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "GGUF model file." };
        var prompt = new Option<int>("--prompt", "-p") { Description = "Prompt tokens per prompt-processing run (0: skip).", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("--gen", "-n") { Description = "Tokens per generation run (0: skip).", DefaultValueFactory = _ => 128 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var reps = new Option<int>("--repetitions", "-r") { Description = "Measured runs per test (after one warm-up).", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch", "-b") { Description = "Largest batch of prompt tokens per step.", DefaultValueFactory = _ => 512 };
        var seqs = new Option<string>("--sequences", "-s") { Description = "Also run generation with this many sequences decoding in one batch per step (comma-separated, e.g. 4,8,16): aggregate t/s.", DefaultValueFactory = _ => "" };
        var kv = new Option<string>("--kv-type") { Description = "KV cache type: f16 or q8_0.", DefaultValueFactory = _ => "f16" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("bench", "Measure prompt processing and generation speed (tokens/s, mean ± sd), like llama-bench.")
        {
            model, prompt, gen, threads, reps, batch, seqs, kv, json,
        };
        command.SetAction(parse =>
        {
            int pp = parse.GetValue(prompt), tg = parse.GetValue(gen), r = parse.GetValue(reps), b = parse.GetValue(batch);
            if (pp < 0 || tg < 0 || pp + tg == 0) throw new CliUsageException("-p and -n must be >= 0 and not both 0");
            if (r < 1) throw new CliUsageException("-r must be at least 1");
            if (b < 1) throw new CliUsageException("-b must be at least 1");
            var kvType = RunCommand.ParseKvType(parse.GetValue(kv));
            var sequences = new List<int>();
            foreach (var part in (parse.GetValue(seqs) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, out var s) || s < 1 || s > 256) throw new CliUsageException($"-s takes sequence counts 1..256, got '{part}'");
                sequences.Add(s);
            }
            if (sequences.Count > 0 && tg == 0) throw new CliUsageException("-s needs -n > 0");
            var sw = Stopwatch.StartNew();
            using var m = LanguageModel.Load(parse.GetValue(model)!);
            var loadSeconds = sw.Elapsed.TotalSeconds;
            using var ctx = m.CreateContext(new ContextOptions
            {
                ContextLength = Math.Max(pp, tg) + 16, MaxBatchTokens = Math.Max(1, Math.Min(b, pp)), KvType = kvType, Threads = parse.GetValue(threads),
            });
            var results = new List<BenchResult>();
            if (pp > 0) results.Add(Benchmark.PromptProcessing(ctx, pp, r));
            if (tg > 0) results.Add(Benchmark.Generation(ctx, tg, r));
            if (sequences.Count > 0)
            {
                var most = sequences.Max();
                using var batched = m.CreateContext(new ContextOptions
                {
                    ContextLength = (tg + 16) * most, MaxSequences = most, MaxBatchTokens = most, KvType = kvType, Threads = parse.GetValue(threads),
                });
                foreach (var s in sequences) results.Add(Benchmark.BatchedGeneration(batched, s, tg, r));
            }
            var sizeMiB = m.FileBytes / 1048576.0;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    model = Path.GetFileName(m.Path), architecture = m.Architecture, type = m.MainType.ToString(), size_bytes = m.FileBytes,
                    threads = ctx.Threads, kv_type = kvType.ToString(), load_seconds = Math.Round(loadSeconds, 3),
                    peak_working_set_bytes = Process.GetCurrentProcess().PeakWorkingSet64, kv_cache_bytes = ctx.KvCacheBytes,
                    results = results.Select(x => new { test = x.Test, tokens = x.Tokens, mean_tps = Math.Round(x.Mean, 2), sd_tps = Math.Round(x.StdDev, 2), runs_tps = x.TokensPerSecond.Select(v => Math.Round(v, 2)) }),
                }));
                return 0;
            }
            Console.WriteLine($"| model | size | threads | kv | test | t/s |");
            Console.WriteLine($"| ----- | ---: | ------: | -- | ---: | --: |");
            foreach (var x in results)
                Console.WriteLine($"| {m.Architecture} {m.MainType} | {sizeMiB:F2} MiB | {ctx.Threads} | {kvType} | {x.Test} | {x.Mean:F2} ± {x.StdDev:F2} |");
            return 0;
        });
        return command;
    }
}
