using System.CommandLine;
using Sovra.Server.Hub;

namespace Sovra.Cli.Commands;

internal static class RmCommand
{
    public static Command Create()
    {
        var model = new Argument<string[]>("model") { Description = "Model names as `sovra list` shows them (or file names).", Arity = ArgumentArity.OneOrMore };
        var dir = new Option<string>("--models-dir") { Description = "The models folder (default ~/.sovra/models, or SOVRA_MODELS_DIR)." };
        var command = new Command("rm", "Delete models from the models folder.") { model, dir };
        command.SetAction(parse =>
        {
            var store = new ModelStore(PullCommand.ModelsDir(parse.GetValue(dir)));
            foreach (var m in parse.GetValue(model)!)
                Console.WriteLine($"deleted {store.Remove(m)}");
            return 0;
        });
        return command;
    }
}
