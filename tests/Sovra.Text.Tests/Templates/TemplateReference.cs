using System.Text.Json;
using Sovra.Text.Templates;
using Sovra.TestSupport;

namespace Sovra.Text.Tests.Templates;

/// <summary>
/// The conversation suite and what Python's Jinja2 renders for it. When python3 with jinja2 is present
/// (as in CI) the reference is rendered afresh by tools/reference/scripts/tmpl-render.py; otherwise the
/// checked-in golden file (made by the same script) is used.
/// </summary>
internal static class TemplateReference
{
    public static string SuitePath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Data", "conversations.json");
    public static string GoldenPath => Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Golden", "reference.json");
    public static string Script => Path.Combine(RepoPaths.Reference, "scripts", "tmpl-render.py");
    public static string TemplateDir => Path.Combine(RepoPaths.Shared, "templates");

    private static readonly Lazy<JsonDocument> SuiteLazy = new(() => JsonDocument.Parse(File.ReadAllText(SuitePath)));
    private static readonly Lazy<(string Json, bool Fresh)> ReferenceLazy = new(Load);

    public static JsonElement Suite => SuiteLazy.Value.RootElement;

    /// <summary>The reference JSON text and whether it was rendered in this run.</summary>
    public static (string Json, bool Fresh) Reference => ReferenceLazy.Value;

    public static string? FreshJson() => Reference.Fresh ? Reference.Json : null;

    private static (string, bool) Load()
    {
        if (PythonJinjaAvailable())
        {
            var r = ExternalProcess.Run("python3", [Script, SuitePath, TemplateDir], timeout: TimeSpan.FromMinutes(3));
            if (r.ExitCode != 0) throw new InvalidOperationException("tmpl-render.py failed: " + r.Stderr);
            return (r.Stdout, true);
        }
        return (File.ReadAllText(GoldenPath), false);
    }

    private static bool PythonJinjaAvailable()
    {
        try
        {
            return ExternalProcess.Run("python3", ["-c", "import jinja2"], timeout: TimeSpan.FromSeconds(30)).ExitCode == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The render request for one case of the suite, as the reference script builds its kwargs.</summary>
    public static ChatRenderRequest Request(JsonElement @case)
    {
        var suite = Suite;
        var extra = new Dictionary<string, JsonElement>();
        if (@case.TryGetProperty("extra", out var ex))
            foreach (var p in ex.EnumerateObject()) extra[p.Name] = p.Value.Clone();
        return new ChatRenderRequest
        {
            Messages = ChatMessage.ListFromJson(@case.GetProperty("messages")),
            Tools = !@case.TryGetProperty("tools", out var t) ? null
                : t.ValueKind == JsonValueKind.True ? suite.GetProperty("tools").Clone()
                : t.ValueKind == JsonValueKind.String && t.GetString() == "flat" ? suite.GetProperty("tools_flat").Clone()
                : null,
            AddGenerationPrompt = @case.GetProperty("add_generation_prompt").GetBoolean(),
            BosToken = suite.GetProperty("bos_token").GetString(),
            EosToken = suite.GetProperty("eos_token").GetString(),
            Variables = extra,
            Now = new DateTimeOffset(DateTime.Parse(suite.GetProperty("now").GetString()!, System.Globalization.CultureInfo.InvariantCulture)),
        };
    }
}
