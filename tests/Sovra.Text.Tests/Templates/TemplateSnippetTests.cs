using System.Text.Json;
using Sovra.Text.Templates;
using Sovra.TestSupport;
using Xunit.Abstractions;

namespace Sovra.Text.Tests.Templates;

/// <summary>
/// Small templates, one per Jinja feature or Python semantic (whitespace control, literals, repr, truthiness,
/// filters, tests, scoping, macros, the sandbox), each compared with Python's Jinja2: same text, or both raise.
/// </summary>
public class TemplateSnippetTests(ITestOutputHelper output)
{
    private static string SnippetsPath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Data", "snippets.json");
    private static string GoldenPath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Golden", "snippets.json");

    private static readonly Lazy<(string Json, bool Fresh)> Reference = new(() =>
    {
        try
        {
            var r = ExternalProcess.Run("python3", [TemplateReference.Script, "--snippets", SnippetsPath], timeout: TimeSpan.FromMinutes(2));
            if (r.ExitCode == 0) return (r.Stdout, true);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no python3: fall back to the golden file
        }
        return (File.ReadAllText(GoldenPath), false);
    });

    public static TheoryData<string> SnippetNames()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SnippetsPath));
        var data = new TheoryData<string>();
        foreach (var s in doc.RootElement.GetProperty("snippets").EnumerateArray()) data.Add(s.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(SnippetNames))]
    public void Matches_jinja2(string name)
    {
        using var suite = JsonDocument.Parse(File.ReadAllText(SnippetsPath));
        var snippet = suite.RootElement.GetProperty("snippets").EnumerateArray().First(s => s.GetProperty("name").GetString() == name);
        var now = new DateTimeOffset(DateTime.Parse(suite.RootElement.GetProperty("now").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        using var reference = JsonDocument.Parse(Reference.Value.Json);
        var expected = reference.RootElement.GetProperty(name);
        string? actual = null;
        TemplateException? error = null;
        try
        {
            var t = ChatTemplate.Parse(snippet.GetProperty("template").GetString()!);
            actual = t.RenderVariables(snippet.GetProperty("vars"), now);
        }
        catch (TemplateException e) { error = e; }

        if (expected.TryGetProperty("error", out var want))
        {
            Assert.True(error != null, $"Jinja2 raised {want.GetString()} but Sovra rendered {JsonSerializer.Serialize(actual)}");
            output.WriteLine($"Jinja2: {want.GetString()}\nSovra:  {error!.GetType().Name}: {error.Message}");
            return;
        }
        Assert.True(error == null, $"Sovra raised {error?.GetType().Name}: {error?.Message}");
        Assert.Equal(expected.GetProperty("out").GetString(), actual);
    }

    [Fact]
    public void Golden_file_matches_a_fresh_jinja2_rendering()
    {
        if (!Reference.Value.Fresh) { output.WriteLine("python3 with jinja2 not found"); return; }
        Assert.True(File.ReadAllText(GoldenPath) == Reference.Value.Json,
            $"{GoldenPath} is stale: regenerate with python3 tools/reference/scripts/tmpl-render.py --snippets {SnippetsPath}");
    }
}
