using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Sovra.Gateway.Config;

/// <summary>
/// Reads typed values out of a YAML node tree and collects every problem with its path
/// (<c>backends[1].base_url: ...</c>) instead of stopping at the first, so one start-up shows them all.
/// </summary>
internal sealed class YamlWalker(List<string> errors)
{
    public List<string> Errors { get; } = errors;

    public void Error(string path, string message) => Errors.Add($"{path}: {message}");

    /// <summary>A mapping's fields, reporting keys outside <paramref name="known"/> (a typo must not be silently ignored).</summary>
    public Dictionary<string, (YamlNode Node, string Path)>? Map(YamlNode? node, string path, params string[] known)
    {
        if (node is null) return null;
        if (node is not YamlMappingNode map)
        {
            Error(path, "expected a mapping");
            return null;
        }
        var result = new Dictionary<string, (YamlNode, string)>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            var sub = path.Length == 0 ? name : $"{path}.{name}";
            if (!known.Contains(name)) Error(sub, $"unknown field (expected one of: {string.Join(", ", known)})");
            else if (!result.TryAdd(name, (v, sub))) Error(sub, "given twice");
        }
        return result;
    }

    public List<(YamlNode Node, string Path)> Seq(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent)
    {
        var list = new List<(YamlNode, string)>();
        if (m is null || !m.TryGetValue(key, out var e) || IsNull(e.Node)) return list;
        if (e.Node is not YamlSequenceNode seq)
        {
            Error(e.Path, "expected a list");
            return list;
        }
        for (var i = 0; i < seq.Children.Count; i++) list.Add((seq.Children[i], $"{e.Path}[{i}]"));
        return list;
    }

    public string? Str(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent, bool required = false)
    {
        if (m is null) return null;
        if (!m.TryGetValue(key, out var e) || IsNull(e.Node))
        {
            if (required) Error(Join(parent, key), "required");
            return null;
        }
        if (e.Node is not YamlScalarNode s)
        {
            Error(e.Path, "expected a string");
            return null;
        }
        if (required && string.IsNullOrWhiteSpace(s.Value)) Error(e.Path, "must not be empty");
        return s.Value;
    }

    public List<string> StrList(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent)
    {
        var result = new List<string>();
        foreach (var (n, p) in Seq(m, key, parent))
        {
            if (n is YamlScalarNode { Value: { Length: > 0 } v }) result.Add(v);
            else Error(p, "expected a non-empty string");
        }
        return result;
    }

    public double? Num(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent, double min, double max)
    {
        var s = Str(m, key, parent);
        if (s is null) return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v))
        {
            Error(Join(parent, key), $"expected a number, got '{Trim(s)}'");
            return null;
        }
        if (v < min || v > max)
        {
            Error(Join(parent, key), $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }
        return v;
    }

    public int? Int(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent, int min, int max)
    {
        var s = Str(m, key, parent);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            Error(Join(parent, key), $"expected an integer, got '{Trim(s)}'");
            return null;
        }
        if (v < min || v > max)
        {
            Error(Join(parent, key), $"must be between {min} and {max}");
            return null;
        }
        return v;
    }

    public bool? Bool(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent)
    {
        var s = Str(m, key, parent);
        if (s is null) return null;
        if (bool.TryParse(s, out var v)) return v;
        Error(Join(parent, key), $"expected true or false, got '{Trim(s)}'");
        return null;
    }

    /// <summary>A duration in milliseconds.</summary>
    public TimeSpan? Ms(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent, int min = 0, int max = 86_400_000) =>
        Int(m, key, parent, min, max) is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

    public T? Enum<T>(Dictionary<string, (YamlNode Node, string Path)>? m, string key, string parent, IReadOnlyDictionary<string, T> names) where T : struct
    {
        var s = Str(m, key, parent);
        if (s is null) return null;
        if (names.TryGetValue(s, out var v)) return v;
        Error(Join(parent, key), $"'{Trim(s)}' is not one of: {string.Join(", ", names.Keys)}");
        return null;
    }

    private static bool IsNull(YamlNode n) => n is YamlScalarNode { Value: null or "~" or "null" } s && s.Style == YamlDotNet.Core.ScalarStyle.Plain;

    private static string Join(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

    // A config value is echoed back in an error, but never at length (it could be a pasted secret).
    private static string Trim(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
