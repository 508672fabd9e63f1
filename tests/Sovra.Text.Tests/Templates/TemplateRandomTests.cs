using System.Text.Json;
using Sovra.Text.Templates;
using Sovra.TestSupport;

namespace Sovra.Text.Tests.Templates;

/// <summary>
/// Differential test: 1 500 seeded random expressions and statements over Jinja's operators, filters, tests and
/// methods (tools/reference/scripts/tmpl-render.py --random 1500 23), each compared with Python's Jinja2.
/// </summary>
public class TemplateRandomTests
{
    private static string SnippetsPath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Data", "random-snippets.json");
    private static string GoldenPath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Golden", "random-snippets.json");

    [Fact]
    public void Random_templates_render_or_raise_like_jinja2()
    {
        string referenceJson;
        try
        {
            var r = ExternalProcess.Run("python3", [TemplateReference.Script, "--snippets", SnippetsPath], timeout: TimeSpan.FromMinutes(2));
            referenceJson = r.ExitCode == 0 ? r.Stdout : File.ReadAllText(GoldenPath);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            referenceJson = File.ReadAllText(GoldenPath);
        }
        using var suite = JsonDocument.Parse(File.ReadAllText(SnippetsPath));
        using var reference = JsonDocument.Parse(referenceJson);
        var now = new DateTimeOffset(2026, 1, 15, 10, 30, 0, TimeSpan.Zero);
        var failures = new List<string>();
        var rendered = 0;
        foreach (var s in suite.RootElement.GetProperty("snippets").EnumerateArray())
        {
            var name = s.GetProperty("name").GetString()!;
            var source = s.GetProperty("template").GetString()!;
            var expected = reference.RootElement.GetProperty(name);
            string? actual = null;
            string? error = null;
            try { actual = ChatTemplate.Parse(source).RenderVariables(s.GetProperty("vars"), now); }
            catch (TemplateException e) { error = e.GetType().Name + ": " + e.Message; }
            if (expected.TryGetProperty("error", out var want))
            {
                if (error == null) failures.Add($"{source}\n  Jinja2 raised {want.GetString()}\n  Sovra rendered {JsonSerializer.Serialize(actual)}");
            }
            else if (error != null) failures.Add($"{source}\n  Jinja2 rendered {JsonSerializer.Serialize(expected.GetProperty("out").GetString())}\n  Sovra raised {error}");
            else if (actual != expected.GetProperty("out").GetString())
                failures.Add($"{source}\n  Jinja2 rendered {JsonSerializer.Serialize(expected.GetProperty("out").GetString())}\n  Sovra rendered {JsonSerializer.Serialize(actual)}");
            else rendered++;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} differ ({rendered} rendered identically):\n" + string.Join("\n", failures.Take(25)));
    }
}
