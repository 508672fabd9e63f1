namespace Sovra.TestSupport;

/// <summary>Where the repository, the shared test data and the reference tools are, wherever the tests run from.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The repository root (the folder that holds Sovra.slnx).</summary>
    public static string Root => RootLazy.Value;

    /// <summary>../shared beside the repository: real chat templates, FLORES-200. Override with SOVRA_SHARED.</summary>
    public static string Shared =>
        Environment.GetEnvironmentVariable("SOVRA_SHARED") is { Length: > 0 } s ? s : Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    /// <summary>tools/reference: the npm reference packages (llama.cpp, HF tokenizers, ...) that test.sh installs.</summary>
    public static string Reference => Path.Combine(Root, "tools", "reference");

    public static string NodeModules => Path.Combine(Reference, "node_modules");

    /// <summary>A scratch folder for one test class, under the system temp folder, created empty.</summary>
    public static string Scratch(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sovra-tests", name + "-" + Environment.ProcessId);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sovra.slnx")))
                return dir.FullName;
        throw new InvalidOperationException("Sovra.slnx not found above " + AppContext.BaseDirectory);
    }
}
