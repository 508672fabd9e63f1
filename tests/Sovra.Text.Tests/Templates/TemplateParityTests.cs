using System.Text.Json;
using Sovra.Text.Templates;
using Xunit.Abstractions;

namespace Sovra.Text.Tests.Templates;

/// <summary>Every real chat template, every conversation of the suite: byte-identical to Python's Jinja2, or raising where it raises.</summary>
public class TemplateParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> TemplateNames()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TemplateReference.TemplateDir, "*.jinja").Select(Path.GetFileName).Order(StringComparer.Ordinal))
            data.Add(f!);
        return data;
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void Renders_like_jinja2(string templateFile)
    {
        using var reference = JsonDocument.Parse(TemplateReference.Reference.Json);
        Assert.True(reference.RootElement.TryGetProperty(templateFile, out var expectedByCase),
            $"no reference for {templateFile}; regenerate {TemplateReference.GoldenPath} with tools/reference/scripts/tmpl-render.py");
        var source = File.ReadAllText(Path.Combine(TemplateReference.TemplateDir, templateFile));
        ChatTemplate? template = null;
        Exception? parseError = null;
        try { template = ChatTemplate.Parse(source); }
        catch (TemplateException e) { parseError = e; }

        var failures = new List<string>();
        foreach (var @case in TemplateReference.Suite.GetProperty("cases").EnumerateArray())
        {
            var name = @case.GetProperty("name").GetString()!;
            var expected = expectedByCase.GetProperty(name);
            string? actual = null;
            Exception? error = parseError;
            if (template != null)
            {
                try { actual = template.Render(TemplateReference.Request(@case)); }
                catch (TemplateException e) { error = e; }
            }
            if (expected.TryGetProperty("error", out var expectedError))
            {
                if (error == null) failures.Add($"{name}: Jinja2 raised ({expectedError.GetString()}) but Sovra rendered {Snip(actual!, 0)}");
                else output.WriteLine($"{name}: both raise — Jinja2: {expectedError.GetString()} | Sovra: {error.Message}");
                continue;
            }
            var want = expected.GetProperty("out").GetString()!;
            if (error != null) failures.Add($"{name}: Sovra raised {error.GetType().Name}: {error.Message}");
            else if (actual != want)
            {
                var at = 0;
                while (at < Math.Min(want.Length, actual!.Length) && want[at] == actual[at]) at++;
                failures.Add($"{name}: differs at char {at}: want {Snip(want, at)} got {Snip(actual!, at)}");
            }
        }
        Assert.True(failures.Count == 0, templateFile + ":\n" + string.Join("\n", failures));
    }

    private static string Snip(string s, int at)
    {
        var from = Math.Max(0, at - 40);
        return JsonSerializer.Serialize(s.Substring(from, Math.Min(120, s.Length - from)));
    }

    [Fact]
    public void Golden_file_matches_a_fresh_jinja2_rendering()
    {
        var fresh = TemplateReference.FreshJson();
        if (fresh == null)
        {
            output.WriteLine("python3 with jinja2 not found: compared against the checked-in golden file only");
            return;
        }
        var golden = File.ReadAllText(TemplateReference.GoldenPath);
        Assert.True(golden == fresh,
            $"{TemplateReference.GoldenPath} is stale: regenerate it with python3 tools/reference/scripts/tmpl-render.py " +
            "tests/Sovra.Text.Tests/Templates/Data/conversations.json ../shared/templates > tests/Sovra.Text.Tests/Templates/Golden/reference.json");
    }
}
