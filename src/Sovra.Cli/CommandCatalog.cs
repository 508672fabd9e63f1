using System.CommandLine;
using Sovra.Cli.Commands;

namespace Sovra.Cli;

/// <summary>Every sub-command of <c>sovra</c>, one line each, in the order <c>--help</c> lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return VersionCommand.Create();
        yield return GatewayCommand.Create();
        yield return InspectCommand.Create();
        yield return SynthCommand.Create();
        yield return TemplateCommand.Create();
        yield return TokenizeCommand.Create();
        yield return RunCommand.Create();
        yield return BenchCommand.Create();
        yield return ServeCommand.Create();
        yield return PullCommand.Create();
        yield return ListCommand.Create();
        yield return RmCommand.Create();
    }
}
