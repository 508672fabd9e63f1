using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Sovra.Engine;
using Sovra.Engine.Cache;
using Sovra.Engine.Generation;
using Sovra.Engine.Sampling;

namespace Sovra.Cli.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "GGUF model file." };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt (read from stdin when absent).", };
        var raw = new Option<bool>("--raw") { Description = "Feed the prompt as is, without the model's chat template." };
        var system = new Option<string?>("--system") { Description = "A system message (chat template only)." };
        var maxTokens = new Option<int>("--n-predict", "-n") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 256 };
        var temp = new Option<float>("--temp") { Description = "Temperature; 0 is greedy.", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens (0: off).", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "Keep the smallest set with this much probability (1: off).", DefaultValueFactory = _ => 0.95f };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below this fraction of the top probability (0: off).", DefaultValueFactory = _ => 0.05f };
        var repeat = new Option<float>("--repeat-penalty") { Description = "Penalty for tokens in the last --repeat-last-n (1: off).", DefaultValueFactory = _ => 1f };
        var repeatN = new Option<int>("--repeat-last-n") { Description = "Window of the penalties.", DefaultValueFactory = _ => 64 };
        var presence = new Option<float>("--presence-penalty") { Description = "Subtracted from seen tokens' logits.", DefaultValueFactory = _ => 0f };
        var frequency = new Option<float>("--frequency-penalty") { Description = "Subtracted per occurrence.", DefaultValueFactory = _ => 0f };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "RNG seed: the same seed and settings give the same text (default: random)." };
        var stop = new Option<string[]>("--stop") { Description = "Stop before this text (repeatable).", AllowMultipleArgumentsPerToken = false };
        var tokens = new Option<bool>("--tokens") { Description = "Print the generated token ids as a JSON array instead of text." };
        var ctx = new Option<int>("--ctx", "-c") { Description = "Context length (KV cells); 0: the prompt plus -n.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var kv = new Option<string>("--kv-type") { Description = "KV cache type: f16 or q8_0.", DefaultValueFactory = _ => "f16" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print timings and memory to stderr." };
        var command = new Command("run", "Generate text from a GGUF model, streamed to stdout.")
        {
            model, prompt, raw, system, maxTokens, temp, topK, topP, minP, repeat, repeatN, presence, frequency, seed, stop, tokens, ctx, threads, kv, verbose,
        };
        command.SetAction(parse =>
        {
            var started = Stopwatch.StartNew();
            var n = parse.GetValue(maxTokens);
            if (n < 0) throw new CliUsageException("-n must be >= 0");
            var settings = new SamplerSettings
            {
                Temperature = parse.GetValue(temp), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP), MinP = parse.GetValue(minP),
                RepeatPenalty = parse.GetValue(repeat), RepeatLastN = parse.GetValue(repeatN),
                PresencePenalty = parse.GetValue(presence), FrequencyPenalty = parse.GetValue(frequency),
                Seed = parse.GetValue(seed) ?? (ulong)Random.Shared.NextInt64(),
            };
            try { settings.Validate(); } catch (ArgumentException e) { throw new CliUsageException(e.Message); }
            var kvType = ParseKvType(parse.GetValue(kv));
            var text = parse.GetValue(prompt) ?? Console.In.ReadToEnd();

            using var m = LanguageModel.Load(parse.GetValue(model)!);
            var promptTokens = PromptBuilder.Build(m, text, parse.GetValue(raw), parse.GetValue(system));
            if (promptTokens.Length == 0) throw new CliUsageException("the prompt is empty");
            var cells = parse.GetValue(ctx) > 0 ? parse.GetValue(ctx) : promptTokens.Length + Math.Max(n, 1) + 1;
            if (promptTokens.Length >= cells)
                throw new CliUsageException($"the prompt has {promptTokens.Length} tokens; --ctx {cells} leaves no room to generate");
            using var context = m.CreateContext(new ContextOptions
            {
                ContextLength = cells, MaxBatchTokens = Math.Min(512, promptTokens.Length), KvType = kvType, Threads = parse.GetValue(threads),
            });
            var generator = new Generator(m, context);
            var limits = new GenerationLimits { MaxTokens = n, Stop = parse.GetValue(stop) ?? [] };
            var ids = new List<int>();
            var asTokens = parse.GetValue(tokens);
            var stdout = Console.Out;
            double firstToken = 0;
            var genStart = Stopwatch.StartNew();
            if (n > 0)
                foreach (var piece in generator.Generate(promptTokens, new Sampler(settings), limits, new TokenizerTextStream(m.Tokenizer)))
                {
                    if (ids.Count == 0) { firstToken = started.Elapsed.TotalSeconds; genStart.Restart(); }
                    ids.Add(piece.Token);
                    if (!asTokens && piece.Text.Length > 0) { stdout.Write(piece.Text); stdout.Flush(); }
                }
            if (asTokens) stdout.WriteLine(JsonSerializer.Serialize(ids));
            else stdout.WriteLine();
            if (parse.GetValue(verbose))
            {
                var genSeconds = genStart.Elapsed.TotalSeconds;
                Console.Error.WriteLine($"prompt {promptTokens.Length} tokens, generated {ids.Count}; first token after {firstToken:F2} s; " +
                    $"generation {(ids.Count > 1 ? (ids.Count - 1) / genSeconds : 0):F1} t/s; threads {context.Threads}; " +
                    $"KV cache {context.KvCacheBytes / 1048576.0:F1} MiB ({kvType}), buffers {context.ActivationBytes / 1048576.0:F1} MiB; " +
                    $"peak RSS {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
            }
            return 0;
        });
        return command;
    }

    internal static KvCacheType ParseKvType(string? value) => value?.ToLowerInvariant() switch
    {
        "f16" => KvCacheType.F16,
        "q8_0" => KvCacheType.Q8_0,
        _ => throw new CliUsageException($"--kv-type must be f16 or q8_0, got '{value}'"),
    };
}
