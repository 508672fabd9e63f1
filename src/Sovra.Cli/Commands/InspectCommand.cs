using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Sovra.Gguf;

namespace Sovra.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The GGUF file." };
        var ctx = new Option<long?>("--ctx") { Description = "Context length for the memory estimate (default: the model's trained context)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("inspect", "Show a GGUF model: architecture, parameters, tensor types, tokenizer, memory to run it.") { file, ctx, json };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            using var f = Open(path);
            var info = new ModelInspection(f);
            var context = parse.GetValue(ctx) ?? info.Model?.ContextLength ?? 4096;
            if (context is < 1 or > uint.MaxValue) throw new CliUsageException("--ctx must be between 1 and 4294967295");
            var report = Report(path, info, context);
            Console.WriteLine(parse.GetValue(json) ? report.ToJsonString() : Text(report));
            return 0;
        });
        return command;
    }

    private static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        try
        {
            return GgufFile.Open(path);
        }
        catch (GgufFormatException e)
        {
            throw new InvalidDataException($"{path}: not a valid GGUF file: {e.Message}", e);
        }
    }

    private static JsonObject Report(string path, ModelInspection info, long context)
    {
        var f = info.File;
        var m = info.Model;
        var mem = info.Memory(context);
        var o = new JsonObject
        {
            ["file"] = Path.GetFullPath(path),
            ["file_bytes"] = f.FileBytes,
            ["gguf_version"] = f.Version,
            ["architecture"] = m?.Architecture,
            ["name"] = m?.Name,
            ["parameters"] = info.Parameters,
        };
        if (info.ActiveParameters is { } active) o["active_parameters"] = active;
        o["layers"] = m?.BlockCount;
        o["embedding_length"] = m?.EmbeddingLength;
        o["feed_forward_length"] = m?.FeedForwardLength;
        o["head_count"] = m?.HeadCount;
        o["head_count_kv"] = m?.HeadCountKv;
        o["key_length"] = m?.KeyLength;
        o["value_length"] = m?.ValueLength;
        if (m is { IsMixtureOfExperts: true })
            o["experts"] = new JsonObject { ["count"] = m.ExpertCount, ["used"] = m.ExpertUsedCount, ["feed_forward_length"] = m.ExpertFeedForwardLength };
        o["context_length"] = m?.ContextLength;
        o["rope"] = m == null ? null : new JsonObject
        {
            ["freq_base"] = m.RopeFreqBase, ["scaling_type"] = m.RopeScalingType, ["scaling_factor"] = m.RopeScalingFactor,
            ["original_context_length"] = m.RopeScalingOriginalContext,
        };
        o["tensors"] = new JsonObject
        {
            ["count"] = f.Tensors.Count,
            ["bytes"] = info.TensorBytes,
            ["types"] = new JsonArray(info.TypeTotals.Select(t => (JsonNode)new JsonObject
            {
                ["type"] = GgmlTypeInfo.Of(t.Type).Name, ["count"] = t.Count, ["parameters"] = t.Parameters, ["bytes"] = t.Bytes,
            }).ToArray()),
        };
        o["vocab_size"] = m?.VocabSize;
        o["tokenizer"] = m == null ? null : new JsonObject
        {
            ["model"] = m.TokenizerModel, ["pre"] = m.TokenizerPre, ["tokens"] = m.Tokens?.Length, ["merges"] = m.Merges?.Length,
            ["add_bos_token"] = m.AddBosToken, ["add_eos_token"] = m.AddEosToken,
        };
        var special = new JsonObject();
        foreach (var (name, id, text) in info.SpecialTokens()) special[name] = new JsonObject { ["id"] = id, ["text"] = text };
        o["special_tokens"] = special;
        o["chat_template"] = m?.ChatTemplate != null;
        o["chat_template_chars"] = m?.ChatTemplate?.Length;
        o["memory"] = new JsonObject
        {
            ["context"] = mem.Context, ["weights_bytes"] = mem.WeightsBytes, ["kv_cache_bytes"] = mem.KvCacheBytes,
            ["kv_cache_type"] = "F16", ["overhead_bytes"] = mem.OverheadBytes, ["total_bytes"] = mem.TotalBytes,
        };
        return o;
    }

    private static string Text(JsonObject o)
    {
        var lines = new List<(string, string)>();
        string S(string key) => o[key]?.ToString() ?? "-";
        long L(JsonNode? n) => n?.GetValue<long>() ?? 0;
        lines.Add(("file", $"{S("file")} ({Bytes(L(o["file_bytes"]))}, GGUF v{S("gguf_version")})"));
        lines.Add(("architecture", o["name"] is { } name ? $"{S("architecture")} ({name})" : S("architecture")));
        var p = $"{Count(L(o["parameters"]))}";
        if (o["active_parameters"] is { } a) p += $" ({Count(L(a))} active per token)";
        lines.Add(("parameters", p));
        if (o["layers"] != null)
        {
            var shape = $"{S("layers")} layers, hidden {S("embedding_length")}, heads {S("head_count")} (kv {S("head_count_kv")}), head dim {S("key_length")}/{S("value_length")}, FFN {S("feed_forward_length")}";
            if (o["experts"] is JsonObject e) shape += $", experts {e["count"]} ({e["used"]} used, FFN {e["feed_forward_length"]})";
            lines.Add(("shape", shape));
        }
        lines.Add(("context length", S("context_length")));
        if (o["rope"] is JsonObject r)
            lines.Add(("rope", $"theta {r["freq_base"]}" + (r["scaling_type"] is { } st ? $", scaling {st} x{r["scaling_factor"]} from {r["original_context_length"]}" : "")));
        var t = (JsonObject)o["tensors"]!;
        lines.Add(("tensors", $"{t["count"]}, {Bytes(L(t["bytes"]))}"));
        foreach (var ty in ((JsonArray)t["types"]!).OfType<JsonObject>())
            lines.Add(("", $"{ty["type"],-8} {ty["count"],5} tensors {Count(L(ty["parameters"])),10} params {Bytes(L(ty["bytes"])),12}"));
        if (o["tokenizer"] is JsonObject tok)
            lines.Add(("tokenizer", $"{tok["model"]?.ToString() ?? "-"} (pre {tok["pre"]?.ToString() ?? "-"}), vocabulary {S("vocab_size")}, {tok["merges"]?.ToString() ?? "0"} merges"
                + (tok["add_bos_token"] is { } ab ? $", add_bos {ab.ToString().ToLowerInvariant()}" : "")));
        var special = ((JsonObject)o["special_tokens"]!).Select(kv => $"{kv.Key} {kv.Value!["id"]} '{kv.Value["text"]}'");
        lines.Add(("special tokens", string.Join(", ", special) is { Length: > 0 } sp ? sp : "none"));
        lines.Add(("chat template", o["chat_template"]!.GetValue<bool>() ? $"present ({S("chat_template_chars")} characters)" : "none"));
        var mem = (JsonObject)o["memory"]!;
        lines.Add(($"memory @ {mem["context"]}", $"{Bytes(L(mem["total_bytes"]))} = weights {Bytes(L(mem["weights_bytes"]))} + KV cache (F16) {Bytes(L(mem["kv_cache_bytes"]))} + overhead {Bytes(L(mem["overhead_bytes"]))}"));
        return string.Join('\n', lines.Select(l => $"{l.Item1,-16}{l.Item2}"));
    }

    private static string Count(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " B",
        >= 1_000_000 => (n / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M",
        >= 1_000 => (n / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    internal static string Bytes(long n) => n switch
    {
        >= 1L << 30 => (n / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (n / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (n / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
