using System.CommandLine;
using Sovra.Gateway.Hosting;

namespace Sovra.Cli.Commands;

internal static class GatewayCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The gateway configuration (YAML or JSON); see docs/gateway.md.", Required = true };
        var host = new Option<string?>("--host") { Description = "Address to listen on (default: listen.host of the config, else 127.0.0.1)." };
        var port = new Option<int?>("--port", "-p") { Description = "Port to listen on (default: listen.port of the config, else 8080)." };
        var check = new Option<bool>("--check") { Description = "Validate the configuration, print every error, and exit." };
        var command = new Command("gateway", "Run the gateway: one OpenAI-compatible endpoint over many model servers, with tenants, budgets and a usage ledger.")
        {
            config, host, port, check,
        };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(config)!;
            if (!file.Exists) throw new CliUsageException($"no such file: {file.FullName}");
            var p = parse.GetValue(port);
            if (p is < 0 or > 65535) throw new CliUsageException("--port must be between 0 and 65535");
            if (parse.GetValue(check))
            {
                Sovra.Gateway.Config.ConfigLoader.LoadFile(file.FullName);
                Console.WriteLine($"{file.Name}: valid");
                return 0;
            }
            ProcessTuning.Apply(); // before the first socket and thread: see its summary
            var app = GatewayHost.Build(file.FullName, parse.GetValue(host), p);
            app.Lifetime.ApplicationStarted.Register(() =>
                Console.WriteLine($"sovra gateway listening on {string.Join(", ", app.Urls)}"));
            app.Run();
            return 0;
        });
        return command;
    }
}
