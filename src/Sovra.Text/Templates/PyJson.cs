using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sovra.Text.Templates;

/// <summary>
/// Python's json.dumps as Hugging Face's tojson filter calls it (ensure_ascii=False by default, Python's
/// separators and indentation), and the conversion of System.Text.Json input into template values
/// the way json.loads would build them (ints stay ints, objects keep key order).
/// </summary>
internal static class PyJson
{
    public static string Dumps(Interpreter it, Value v, bool ensureAscii, Value? indent, Value? separators, bool sortKeys)
    {
        string? indentStr = indent switch
        {
            null or NoneValue => null,
            StrValue s => s.S,
            _ when PyOps.AsInt(indent) is { } n => new string(' ', (int)Math.Clamp(n, 0, 1 << 16)),
            _ => throw it.Fail("indent must be an int or str"),
        };
        string itemSep, keySep;
        if (separators is null or NoneValue)
        {
            itemSep = indentStr != null ? "," : ", ";
            keySep = ": ";
        }
        else
        {
            var parts = it.Iterate(separators);
            if (parts.Count != 2 || parts[0] is not StrValue a || parts[1] is not StrValue b)
                throw it.Fail("separators must be a (item_separator, key_separator) pair of strings");
            itemSep = a.S;
            keySep = b.S;
        }
        var sb = new StringBuilder();
        new Writer(it, sb, ensureAscii, indentStr, itemSep, keySep, sortKeys).Write(v, 0);
        return sb.ToString();
    }

    private sealed class Writer(Interpreter it, StringBuilder sb, bool ascii, string? indent, string itemSep, string keySep, bool sortKeys)
    {
        public void Write(Value v, int level)
        {
            it.Step();
            if (level > 500) throw it.Fail("RecursionError: maximum recursion depth exceeded while encoding a JSON object");
            it.ChargeString(sb.Length);
            switch (v)
            {
                case NoneValue: sb.Append("null"); break;
                case BoolValue b: sb.Append(b.V ? "true" : "false"); break;
                case IntValue i: sb.Append(i.V.ToString(CultureInfo.InvariantCulture)); break;
                case FloatValue f: sb.Append(Float(f.V)); break;
                case StrValue s: WriteString(s.S); break;
                case ListValue l:
                    if (l.Items.Count == 0) { sb.Append("[]"); break; }
                    sb.Append('[');
                    for (var i = 0; i < l.Items.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        NewLine(level + 1);
                        Write(l.Items[i], level + 1);
                    }
                    NewLine(level);
                    sb.Append(']');
                    break;
                case DictValue d:
                    if (d.Map.Count == 0) { sb.Append("{}"); break; }
                    sb.Append('{');
                    var pairs = d.Map.Select(kv => (Key: KeyString(kv.Key), kv.Value)).ToList();
                    if (sortKeys)
                    {
                        if (d.Map.Keys.Any(k => k is not StrValue) && d.Map.Keys.Any(k => k is StrValue))
                            throw it.Fail("'<' not supported between instances of mixed key types");
                        pairs = pairs.OrderBy(p => p.Key, Comparer<string>.Create(PyOps.CompareCodePoints)).ToList();
                    }
                    var first = true;
                    foreach (var (k, val) in pairs)
                    {
                        if (!first) sb.Append(itemSep);
                        first = false;
                        NewLine(level + 1);
                        WriteString(k);
                        sb.Append(keySep);
                        Write(val, level + 1);
                    }
                    NewLine(level);
                    sb.Append('}');
                    break;
                case GeneratorValue:
                    throw it.Fail("Object of type generator is not JSON serializable");
                default:
                    throw it.Fail($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
            }
        }

        private string KeyString(Value k) => k switch
        {
            StrValue s => s.S,
            IntValue i => i.V.ToString(CultureInfo.InvariantCulture),
            FloatValue f => Float(f.V),
            BoolValue b => b.V ? "true" : "false",
            NoneValue => "null",
            _ => throw it.Fail($"keys must be str, int, float, bool or None, not {PyOps.TypeName(k)}"),
        };

        private static string Float(double d) =>
            double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyText.FloatRepr(d);

        private void NewLine(int level)
        {
            if (indent == null) return;
            sb.Append('\n');
            for (var i = 0; i < level; i++) sb.Append(indent);
        }

        private void WriteString(string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }

    /// <summary>A JSON value as json.loads builds it: integers without fraction or exponent become ints.</summary>
    public static Value FromJson(JsonElement e, int depth = 0)
    {
        if (depth > 256) throw new TemplateRuntimeException("JSON input nested deeper than 256 levels", 0);
        switch (e.ValueKind)
        {
            case JsonValueKind.Null: return NoneValue.Instance;
            case JsonValueKind.True: return BoolValue.True;
            case JsonValueKind.False: return BoolValue.False;
            case JsonValueKind.String: return StrValue.Of(e.GetString()!);
            case JsonValueKind.Number:
                var raw = e.GetRawText();
                if (raw.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                    return IntValue.Of(n);
                return new FloatValue(e.GetDouble());
            case JsonValueKind.Array:
                var items = new List<Value>(e.GetArrayLength());
                foreach (var x in e.EnumerateArray()) items.Add(FromJson(x, depth + 1));
                return new ListValue(items);
            case JsonValueKind.Object:
                var d = new DictValue();
                foreach (var p in e.EnumerateObject()) d.Set(p.Name, FromJson(p.Value, depth + 1));
                return d;
            default: return UndefinedValue.Plain;
        }
    }
}
