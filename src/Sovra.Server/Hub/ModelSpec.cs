namespace Sovra.Server.Hub;

/// <summary>
/// What `sovra pull` was asked for, parsed: a repository on the Hub and either an exact file or a
/// quantisation to look for among its files.
/// </summary>
public sealed record ModelSpec(string Repo, string? File, string? Quant, string Original)
{
    /// <summary>Short names, as Ollama users know them, for well-known GGUF repositories and a default quantisation.</summary>
    public static readonly IReadOnlyDictionary<string, (string Repo, string Quant)> Aliases = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
    {
        ["qwen3:0.6b"] = ("Qwen/Qwen3-0.6B-GGUF", "Q8_0"),
        ["qwen3:1.7b"] = ("Qwen/Qwen3-1.7B-GGUF", "Q8_0"),
        ["qwen3:4b"] = ("Qwen/Qwen3-4B-GGUF", "Q4_K_M"),
        ["qwen3:8b"] = ("Qwen/Qwen3-8B-GGUF", "Q4_K_M"),
        ["qwen3:14b"] = ("Qwen/Qwen3-14B-GGUF", "Q4_K_M"),
        ["qwen3:30b-a3b"] = ("Qwen/Qwen3-30B-A3B-GGUF", "Q4_K_M"),
        ["qwen2.5:0.5b"] = ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "Q8_0"),
        ["qwen2.5:1.5b"] = ("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "Q4_K_M"),
        ["qwen2.5:7b"] = ("bartowski/Qwen2.5-7B-Instruct-GGUF", "Q4_K_M"),
        ["deepseek-r1:1.5b"] = ("unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF", "Q4_K_M"),
        ["deepseek-r1:8b"] = ("unsloth/DeepSeek-R1-0528-Qwen3-8B-GGUF", "Q4_K_M"),
        ["llama3.2:3b"] = ("bartowski/Llama-3.2-3B-Instruct-GGUF", "Q4_K_M"),
    };

    public const string DefaultQuant = "Q4_K_M";

    /// <summary>
    /// Accepts <c>hf.co/{owner}/{repo}/{file}.gguf</c> (also huggingface.co/… and https://…), <c>{owner}/{repo}:{quant}</c>,
    /// <c>{owner}/{repo}</c> (Q4_K_M, or the only GGUF file), <c>hf.co/{owner}/{repo}:{quant}</c>, and the short aliases.
    /// </summary>
    public static ModelSpec Parse(string spec)
    {
        var s = spec.Trim();
        if (s.Length == 0) throw new FormatException("the model to pull is empty");
        if (Aliases.TryGetValue(s, out var alias)) return new ModelSpec(alias.Repo, null, alias.Quant, spec);

        foreach (var prefix in new[] { "https://", "http://" })
            if (s.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) s = s[prefix.Length..];
        foreach (var host in new[] { "hf.co/", "huggingface.co/" })
            if (s.StartsWith(host, StringComparison.OrdinalIgnoreCase)) s = s[host.Length..];

        string? quant = null;
        var colon = s.LastIndexOf(':');
        if (colon >= 0)
        {
            quant = s[(colon + 1)..];
            s = s[..colon];
            if (quant.Length == 0 || quant.Contains('/')) throw new FormatException($"'{spec}': nothing usable after ':' (expected a quantisation such as Q4_K_M)");
        }
        var parts = s.Split('/', StringSplitOptions.None);
        if (parts.Any(p => p.Length == 0 || p == "." || p == ".."))
            throw new FormatException($"'{spec}' is not a model name: expected hf.co/OWNER/REPO/FILE.gguf, OWNER/REPO:QUANT or one of {string.Join(", ", Aliases.Keys)}");
        if (parts.Length == 1)
            throw new FormatException($"'{spec}' is not a known short name ({string.Join(", ", Aliases.Keys)}); give OWNER/REPO:QUANT or hf.co/OWNER/REPO/FILE.gguf");
        var repo = parts[0] + "/" + parts[1];
        if (parts.Length == 2) return new ModelSpec(repo, null, quant ?? null, spec);

        // owner/repo/[resolve/main/]path/to/file.gguf
        var rest = parts.Skip(2).ToList();
        if (rest.Count >= 3 && rest[0] is "resolve" or "blob" && rest[1] == "main") rest = rest.Skip(2).ToList();
        var file = string.Join('/', rest);
        if (quant != null) throw new FormatException($"'{spec}': give either a file or a quantisation, not both");
        if (!file.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) throw new FormatException($"'{spec}': {file} is not a .gguf file");
        return new ModelSpec(repo, file, null, spec);
    }

    /// <summary>Picks the file for a quantisation among a repository's files (single files, not split parts).</summary>
    public static string ChooseFile(string repo, string? quant, IReadOnlyList<string> files)
    {
        var ggufs = files.Where(f => f.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && !System.Text.RegularExpressions.Regex.IsMatch(f, @"-\d{5}-of-\d{5}\.gguf$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)).ToList();
        if (ggufs.Count == 0) throw new InvalidOperationException($"{repo} has no single-file .gguf models");
        if (quant == null)
        {
            if (ggufs.Count == 1) return ggufs[0];
            quant = DefaultQuant;
        }
        var q = quant;
        bool Has(string f)
        {
            var name = Path.GetFileNameWithoutExtension(f);
            var i = name.LastIndexOf(q, StringComparison.OrdinalIgnoreCase);
            return i > 0 && name[i - 1] is '-' or '.' or '_' && i + q.Length == name.Length;
        }
        var match = ggufs.Where(Has).OrderBy(f => f.Length).ThenBy(f => f, StringComparer.Ordinal).FirstOrDefault();
        if (match != null) return match;
        var available = ggufs.Select(f => QuantOf(Path.GetFileNameWithoutExtension(f))).Distinct().Order();
        throw new InvalidOperationException($"{repo} has no {quant} file; it has: {string.Join(", ", available)}");
    }

    private static string QuantOf(string name)
    {
        var i = name.LastIndexOfAny(['-', '.']);
        return i >= 0 ? name[(i + 1)..] : name;
    }
}
