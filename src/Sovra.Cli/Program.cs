using System.CommandLine;
using Sovra.Cli;

// The `sovra` command. Each sub-command lives in its own file under Commands/ and only parses
// arguments and prints; the work is done by the libraries.
var root = new RootCommand("Sovra: run open-weight GGUF models on your own hardware, and serve them.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);

return CliHost.Run(root, args);
