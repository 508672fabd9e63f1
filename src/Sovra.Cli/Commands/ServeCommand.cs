using System.CommandLine;
using System.Globalization;
using Sovra.Server.Hosting;
using Sovra.Server.Models;

namespace Sovra.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on (default 127.0.0.1)." };
        var port = new Option<int?>("--port") { Description = "Port (default 8080; 0 picks a free one)." };
        var modelsDir = new Option<string>("--models-dir") { Description = "Serve every .gguf file in this folder (default ~/.sovra/models)." };
        var model = new Option<string[]>("--model", "-m") { Description = "Also serve this .gguf file (repeatable).", AllowMultipleArgumentsPerToken = false };
        var config = new Option<string>("--config") { Description = "JSON settings file (default ~/.sovra/serve.json when it exists; keys as the flags, with _)." };
        var ctx = new Option<int?>("--context-length", "-c") { Description = "Positions per sequence (default 4096; 0: the model's own, up to 32768)." };
        var parallel = new Option<int?>("--parallel", "-np") { Description = "Sequences decoded together per model (default 8)." };
        var queue = new Option<int?>("--max-queue") { Description = "Requests that may wait for a slot before 429 (default 64)." };
        var maxN = new Option<int?>("--max-n") { Description = "Largest n per request (default 8)." };
        var batch = new Option<int?>("--max-batch-tokens") { Description = "Tokens per forward step (default 512)." };
        var chunk = new Option<int?>("--prefill-chunk") { Description = "Prompt tokens one sequence reads per step (default 256)." };
        var noCache = new Option<bool>("--no-prefix-cache") { Description = "Do not keep finished sequences' KV for reuse." };
        var budget = new Option<string>("--memory-budget") { Description = "Memory all loaded models may hold, e.g. 16G (default 80% of RAM)." };
        var shutdown = new Option<double?>("--shutdown-timeout") { Description = "Seconds running streams may finish after SIGTERM (default 30)." };
        var inline = new Option<bool>("--reasoning-inline") { Description = "Leave a reasoning model's <think> text in content instead of reasoning_content." };
        var threads = new Option<int?>("--threads", "-t") { Description = "Compute threads (default: all cores)." };
        var command = new Command("serve", "Serve the models in the models folder over an OpenAI-compatible HTTP API (chat, completions, models), "
            + "with continuous batching, /health, /ready and /metrics.")
        {
            host, port, modelsDir, model, config, ctx, parallel, queue, maxN, batch, chunk, noCache, budget, shutdown, inline, threads,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var flags = new Dictionary<string, string>();
            void Flag<T>(Option<T> o, string key, Func<T, string?> text)
            {
                if (parse.GetResult(o) is { Implicit: false } && text(parse.GetValue(o)!) is { } t) flags[key] = t;
            }
            Flag(host, "host", v => v);
            Flag(port, "port", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(modelsDir, "models_dir", v => v);
            Flag(ctx, "context_length", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(parallel, "parallel", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(queue, "max_queue", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(maxN, "max_n", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(batch, "max_batch_tokens", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(chunk, "prefill_chunk", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(noCache, "prefix_cache", v => v ? "false" : null);
            Flag(budget, "memory_budget", v => v);
            Flag(shutdown, "shutdown_timeout", v => v?.ToString(CultureInfo.InvariantCulture));
            Flag(inline, "separate_reasoning", v => v ? "false" : null);
            Flag(threads, "threads", v => v?.ToString(CultureInfo.InvariantCulture));

            var (options, errors) = ServerConfigLoader.Load(parse.GetValue(config), flags, parse.GetValue(model) ?? []);
            if (errors.Count > 0)
            {
                Console.Error.WriteLine($"sovra: the configuration has {errors.Count} problem{(errors.Count == 1 ? "" : "s")}:");
                foreach (var e in errors) Console.Error.WriteLine($"  - {e}");
                return CliHost.ExitUsage;
            }

            await using var node = NodeHost.Create(options, new EngineModelLoader());
            try { await node.StartAsync(cancellation); }
            catch (IOException e) { throw new InvalidOperationException($"cannot listen on {options.Host}:{options.Port}: {e.Message}"); }
            var entries = node.Registry.Entries;
            Console.Error.WriteLine($"sovra: listening on {node.BaseAddress} (OpenAI API under /v1; /health, /ready, /metrics)");
            if (entries.Count == 0)
            {
                Console.Error.WriteLine($"sovra: no model to serve yet: {options.ModelsDir} holds no .gguf file.");
                Console.Error.WriteLine("       Get one with `sovra pull qwen3:0.6b` (needs the Hugging Face Hub), copy a .gguf file there,");
                Console.Error.WriteLine("       make a synthetic one offline with `sovra synth --preset qwen3-0.6b -o " + Path.Combine(options.ModelsDir, "synthetic.gguf") + "`,");
                Console.Error.WriteLine("       or restart with --model FILE.gguf. The node keeps running; /ready answers 503 until a model is there.");
            }
            else
            {
                Console.Error.WriteLine($"sovra: serving {string.Join(", ", entries.Select(e => e.Id))}; loading {entries[0].Id}…");
                _ = node.WarmUpAsync(cancellation).ContinueWith(t =>
                {
                    if (t.IsFaulted) Console.Error.WriteLine($"sovra: could not load {entries[0].Id}: {t.Exception!.GetBaseException().Message}");
                    else Console.Error.WriteLine($"sovra: {entries[0].Id} loaded; ready");
                }, TaskScheduler.Default);
            }
            await node.WaitForShutdownAsync();
            Console.Error.WriteLine("sovra: stopped");
            return 0;
        });
        return command;
    }
}
