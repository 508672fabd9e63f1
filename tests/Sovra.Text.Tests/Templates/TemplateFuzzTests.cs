using System.Text.Json;
using Sovra.Text.Templates;

namespace Sovra.Text.Tests.Templates;

/// <summary>
/// Mutated real templates (characters deleted, duplicated, swapped, tag and operator fragments spliced in)
/// must either render or fail with a <see cref="TemplateException"/>: never another exception type, never a hang.
/// </summary>
public class TemplateFuzzTests
{
    private static readonly string[] Fragments =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "-%}", "{%-", "(", ")", "[", "]", "{", "}", "'", "\"", "\\", "|", ".", ",", ":", "~", "*", "**",
        "//", "%", "-", "+", " if ", " else ", " for ", " in ", " not ", " is ", " and ", " or ", "endif", "endfor", "endmacro", "set ",
        "|tojson", "|length", "|join", "|map(attribute='x')", "|selectattr('role')", "|indent(4)", "|int", "|items", "|dictsort",
        ".split()", ".strip('x')", ".get('a')", ".items()", "[1:]", "[::-1]", "[0]", "loop.", "namespace(", "range(", "caller()",
        " is defined", " is string", " is mapping", "none", "true", "0", "-1", "1e308", "99999999999999999999", "\u00e9", "😀", "\n", " ",
    ];

    [Fact]
    public void Mutated_real_templates_never_escape_the_typed_errors()
    {
        var files = Directory.GetFiles(TemplateReference.TemplateDir, "*.jinja").Order(StringComparer.Ordinal).ToArray();
        var cases = TemplateReference.Suite.GetProperty("cases").EnumerateArray().ToArray();
        var rng = new Random(20260115);
        var limits = new TemplateLimits { MaxSteps = 2_000_000, MaxOutputChars = 1 << 20, MaxStringChars = 1 << 20 };
        var deadline = DateTime.UtcNow.AddSeconds(40);
        var tried = 0;
        while (tried < 4000 && DateTime.UtcNow < deadline)
        {
            var file = files[rng.Next(files.Length)];
            var source = Mutate(File.ReadAllText(file), rng);
            var @case = cases[rng.Next(cases.Length)];
            tried++;
            try
            {
                ChatTemplate.Parse(source, limits).Render(TemplateReference.Request(@case));
            }
            catch (TemplateException)
            {
                // the expected outcome for most mutants
            }
            catch (Exception e)
            {
                Assert.Fail($"mutant #{tried} of {Path.GetFileName(file)} with case {@case.GetProperty("name")} threw {e.GetType().Name}: {e.Message}\n" +
                            $"source: {JsonSerializer.Serialize(source)}\n{e.StackTrace}");
            }
        }
        Assert.True(tried >= 200, $"only {tried} mutants in the time allowed");
    }

    private static string Mutate(string s, Random rng)
    {
        var edits = 1 + rng.Next(4);
        for (var i = 0; i < edits && s.Length > 0; i++)
        {
            var at = rng.Next(s.Length);
            switch (rng.Next(4))
            {
                case 0: s = s.Remove(at, Math.Min(1 + rng.Next(8), s.Length - at)); break;
                case 1: s = s.Insert(at, Fragments[rng.Next(Fragments.Length)]); break;
                case 2:
                    var len = Math.Min(1 + rng.Next(40), s.Length - at);
                    s = s.Insert(rng.Next(s.Length), s.Substring(at, len));
                    break;
                default:
                    var j = rng.Next(s.Length);
                    var chars = s.ToCharArray();
                    (chars[at], chars[j]) = (chars[j], chars[at]);
                    s = new string(chars);
                    break;
            }
        }
        return s;
    }

    [Theory]
    [InlineData(100_000)]
    public void Very_long_operator_chains_are_a_typed_error_or_render(int n)
    {
        foreach (var src in new[]
                 {
                     "{{ " + string.Join(" ~ ", Enumerable.Repeat("'a'", n)) + " }}",
                     "{{ x" + string.Concat(Enumerable.Repeat(".a", n)) + " }}",
                     "{{ 'a'" + string.Concat(Enumerable.Repeat("|trim", n)) + " }}",
                     "{% set ns = namespace(x=1) %}{% for i in range(90000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x == ns.x + [] }}{{ ns.x|tojson }}",
                 })
        {
            try { ChatTemplate.Parse(src).Render(new ChatRenderRequest()); }
            catch (TemplateException) { }
        }
    }
}
