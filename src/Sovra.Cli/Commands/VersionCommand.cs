using System.CommandLine;
using System.Reflection;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;

namespace Sovra.Cli.Commands;

internal static class VersionCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("version", "Print the version of Sovra, the .NET runtime and the CPU features in use.") { json };
        command.SetAction(parse =>
        {
            var info = new Dictionary<string, object>
            {
                ["version"] = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0",
                ["runtime"] = Environment.Version.ToString(),
                ["cores"] = Environment.ProcessorCount,
                ["avx2"] = Avx2.IsSupported,
                ["avx512f"] = Avx512F.IsSupported,
            };
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(info));
            else
                foreach (var (k, v) in info) Console.WriteLine($"{k}: {v}");
            return 0;
        });
        return command;
    }
}
