using System.CommandLine;

namespace Sovra.Cli;

/// <summary>
/// Runs the parsed command and turns any failure into one clear line on stderr and a non-zero exit:
/// 1 for an error while working (bad file, bad input), 2 for a usage error.
/// </summary>
internal static class CliHost
{
    public const int ExitError = 1;
    public const int ExitUsage = 2;

    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"sovra: {string.Join("; ", parse.Errors.Select(e => e.Message))} (see 'sovra --help')");
            return ExitUsage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliUsageException e)
        {
            Console.Error.WriteLine($"sovra: {e.Message}");
            return ExitUsage;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"sovra: {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("SOVRA_DEBUG") == "1")
                Console.Error.WriteLine(e);
            return ExitError;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>Thrown by a command when its arguments make no sense together; exits with code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
