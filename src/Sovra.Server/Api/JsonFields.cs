using System.Text.Json;

namespace Sovra.Server.Api;

/// <summary>Typed reads of request fields; a wrong type or range is a 400 naming the field and what it got.</summary>
internal static class JsonFields
{
    public static JsonElement ParseBody(byte[] body)
    {
        if (body.Length == 0) throw ApiException.BadRequest("The request body is empty; send a JSON object.");
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var root = doc.RootElement.Clone();
            if (root.ValueKind != JsonValueKind.Object)
                throw ApiException.BadRequest($"The request body must be a JSON object, but it is {Describe(root)}.");
            return root;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            throw ApiException.BadRequest($"The request body is not valid JSON{where}: {FirstSentence(e.Message)}", code: "invalid_json");
        }
    }

    public static bool Has(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public static string? String(JsonElement o, string name, bool required = false)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return required ? throw ApiException.BadRequest($"Missing required parameter: '{name}'.", name, "missing_required_parameter") : null;
        if (v.ValueKind != JsonValueKind.String) throw WrongType(name, "a string", v);
        return v.GetString();
    }

    public static bool? Bool(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw WrongType(name, "a boolean", v);
        return v.GetBoolean();
    }

    public static double? Number(JsonElement o, string name, double min, double max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw WrongType(name, "a number", v);
        var d = v.GetDouble();
        if (double.IsNaN(d) || d < min || d > max)
            throw ApiException.BadRequest($"Invalid value for '{name}': {d.ToString(System.Globalization.CultureInfo.InvariantCulture)} is out of range; it must be between {min} and {max}.", name, "invalid_value");
        return d;
    }

    public static long? Integer(JsonElement o, string name, long min, long max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw WrongType(name, "an integer", v);
        if (!v.TryGetInt64(out var i))
        {
            // 3.0 is an integer to JavaScript clients; 3.5 is not.
            var d = v.GetDouble();
            if (d != Math.Floor(d) || d < long.MinValue || d > long.MaxValue) throw WrongType(name, "an integer", v);
            i = (long)d;
        }
        if (i < min || i > max)
            throw ApiException.BadRequest($"Invalid value for '{name}': {i} is out of range; it must be between {min} and {max}.", name, "invalid_value");
        return i;
    }

    public static JsonElement? Object(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object) throw WrongType(name, "an object", v);
        return v;
    }

    public static JsonElement? Array(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array) throw WrongType(name, "an array", v);
        return v;
    }

    /// <summary>stop: a string or an array of strings (at most <paramref name="max"/>, none empty).</summary>
    public static IReadOnlyList<string> Stops(JsonElement o, int max)
    {
        if (!o.TryGetProperty("stop", out var v) || v.ValueKind == JsonValueKind.Null) return [];
        var list = new List<string>();
        if (v.ValueKind == JsonValueKind.String) list.Add(v.GetString()!);
        else if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in v.EnumerateArray())
            {
                if (s.ValueKind != JsonValueKind.String) throw WrongType("stop", "a string or an array of strings", v);
                list.Add(s.GetString()!);
            }
        }
        else throw WrongType("stop", "a string or an array of strings", v);
        if (list.Count > max) throw ApiException.BadRequest($"Invalid value for 'stop': {list.Count} stop sequences given; at most {max} are allowed.", "stop", "invalid_value");
        if (list.Any(s => s.Length == 0)) throw ApiException.BadRequest("Invalid value for 'stop': a stop sequence is empty.", "stop", "invalid_value");
        return list;
    }

    public static ApiException WrongType(string name, string expected, JsonElement got) =>
        ApiException.BadRequest($"Invalid type for '{name}': expected {expected}, but got {Describe(got)} instead.", name, "invalid_type");

    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..(i + 1)] : message;
    }
}
