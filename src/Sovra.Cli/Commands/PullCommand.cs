using System.CommandLine;
using System.Text.Json;
using Sovra.Server.Hosting;
using Sovra.Server.Hub;

namespace Sovra.Cli.Commands;

internal static class PullCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model")
        {
            Description = "hf.co/OWNER/REPO/FILE.gguf, OWNER/REPO:QUANT (e.g. Qwen/Qwen3-0.6B-GGUF:Q8_0), or a short name: "
                + string.Join(", ", ModelSpec.Aliases.Keys),
        };
        var dir = new Option<string>("--models-dir") { Description = "Where models go (default ~/.sovra/models, or SOVRA_MODELS_DIR)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with the file, size and sha256 when done." };
        var command = new Command("pull", "Download a GGUF model from Hugging Face, resumably, verified against the sha256 the Hub publishes. "
            + "The Hub's address comes from SOVRA_HF_ENDPOINT or HF_ENDPOINT; HF_TOKEN is sent for gated repositories.") { model, dir, json };
        command.SetAction(async (parse, cancellation) =>
        {
            var store = new ModelStore(ModelsDir(parse.GetValue(dir)));
            using var hub = new HubClient();
            var bar = new ProgressBar(Console.Error);
            var (file, path, already) = await ModelPuller.PullAsync(hub, store, parse.GetValue(model)!, bar,
                f => { if (!parse.GetValue(json)) Console.Error.WriteLine($"pulling {f.Repo}/{f.Path} ({HubClient.FormatBytes(f.Size)}, sha256 {f.Sha256[..12]}…)"); },
                cancellation);
            bar.Finish();
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new { id = Server.Models.ModelIds.FromFileName(Path.GetFileName(path)), path, repo = file.Repo, file = file.Path, size = file.Size, sha256 = file.Sha256, already_present = already }));
            else
                Console.WriteLine(already ? $"{path} is already there and verified" : $"{path} verified (sha256 {file.Sha256})");
            return 0;
        });
        return command;
    }

    internal static string ModelsDir(string? flag) =>
        flag is { Length: > 0 } ? flag : Environment.GetEnvironmentVariable("SOVRA_MODELS_DIR") is { Length: > 0 } e ? e : ServerOptions.DefaultModelsDir;
}

/// <summary>Size, speed and time left on one redrawn line when stderr is a terminal; a line per 10 % otherwise.</summary>
internal sealed class ProgressBar(TextWriter output) : IProgress<DownloadProgress>
{
    private readonly bool _tty = !Console.IsErrorRedirected;
    private int _lastDecile = -1;
    private bool _drawn;

    public void Report(DownloadProgress p)
    {
        var fraction = p.Total == 0 ? 1 : p.Done / (double)p.Total;
        var seconds = Math.Max(p.Elapsed.TotalSeconds, 0.001);
        var speed = (p.Done - p.ResumedFrom) / seconds;
        var left = speed > 0 ? TimeSpan.FromSeconds((p.Total - p.Done) / speed) : TimeSpan.Zero;
        var text = $"{fraction * 100,5:0.0}% {HubClient.FormatBytes(p.Done)} / {HubClient.FormatBytes(p.Total)}  {HubClient.FormatBytes((long)speed)}/s  {(int)left.TotalHours}:{left.Minutes:00}:{left.Seconds:00} left";
        if (_tty)
        {
            const int width = 24;
            var filled = (int)(fraction * width);
            output.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {text}\u001b[K");
            _drawn = true;
        }
        else
        {
            var decile = (int)(fraction * 10);
            if (decile == _lastDecile) return;
            _lastDecile = decile;
            output.WriteLine(text);
        }
    }

    public void Finish()
    {
        if (_drawn) output.WriteLine();
    }
}
