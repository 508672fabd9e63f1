using System.CommandLine;
using System.Text.Json;
using Sovra.Server.Hub;

namespace Sovra.Cli.Commands;

internal static class ListCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--models-dir") { Description = "The models folder (default ~/.sovra/models, or SOVRA_MODELS_DIR)." };
        var json = new Option<bool>("--json") { Description = "Print a JSON array." };
        var command = new Command("list", "List the models in the models folder (the ones `sovra serve` serves), with where they were pulled from.") { dir, json };
        command.SetAction(parse =>
        {
            var store = new ModelStore(PullCommand.ModelsDir(parse.GetValue(dir)));
            var models = store.List();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(models.Select(m => new { id = m.Id, path = m.Path, size = m.Size, modified = m.Modified, source = m.Source, repo = m.Repo, sha256 = m.Sha256 })));
                return 0;
            }
            if (models.Count == 0)
            {
                Console.WriteLine($"no models in {store.ModelsDir}; try `sovra pull qwen3:0.6b`");
                return 0;
            }
            var idWidth = Math.Max(4, models.Max(m => m.Id.Length));
            Console.WriteLine($"{"NAME".PadRight(idWidth)}  {"SIZE",10}  {"MODIFIED",-16}  SOURCE");
            foreach (var m in models)
                Console.WriteLine($"{m.Id.PadRight(idWidth)}  {HubClient.FormatBytes(m.Size),10}  {m.Modified.ToLocalTime():yyyy-MM-dd HH:mm}  {m.Source ?? "(copied in)"}");
            return 0;
        });
        return command;
    }
}
