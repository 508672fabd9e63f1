using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Sovra.Text.Templates;

/// <summary>
/// Jinja2's built-in filters as Python's Jinja2 3.1 defines them, with tojson replaced by Hugging Face's
/// (json.dumps with ensure_ascii=False). Filters Jinja2 has but chat templates do not use parse, and fail
/// with a clear message when run.
/// </summary>
internal static partial class Filters
{
    private static readonly HashSet<string> JinjaFilterNames =
    [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "filesizeformat",
        "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower",
        "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
        "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
        "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
    ];

    public static bool IsKnown(string name) => JinjaFilterNames.Contains(name);

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex WordBeginningSplit();

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRe();

    /// <summary>Jinja2's soft_str: str() of anything, Undefined as empty.</summary>
    private static string S(Value v) => PyText.Str(v);

    public static Value Apply(Interpreter it, string name, Value v, CallArgs a)
    {
        it.Step();
        if (!IsKnown(name)) throw it.Fail($"No filter named '{name}' found.");
        switch (name)
        {
            case "length" or "count":
                NoArgs(it, name, a);
                return IntValue.Of(Len(it, v));
            case "default" or "d":
            {
                var p = ArgBinder.Bind(it, name, a, "default_value", "boolean");
                var useDefault = v is UndefinedValue || (ArgBinder.Bool(p[1], false) && !PyOps.Truthy(v));
                return useDefault ? p[0] ?? StrValue.Empty : v;
            }
            case "trim":
            {
                var p = ArgBinder.Bind(it, name, a, "chars");
                var chars = p[0] is null or NoneValue ? null : ArgBinder.Str(it, name, p[0]);
                return new StrValue(Methods.Strip(S(v), chars, true, true), IsMarkup(v));
            }
            case "string":
                NoArgs(it, name, a);
                return v is StrValue ? v : it.MakeString(S(v));
            case "safe":
                NoArgs(it, name, a);
                return v is StrValue { Safe: true } ? v : StrValue.Markup(S(v));
            case "upper": NoArgs(it, name, a); return new StrValue(S(v).ToUpperInvariant(), IsMarkup(v));
            case "lower": NoArgs(it, name, a); return new StrValue(S(v).ToLowerInvariant(), IsMarkup(v));
            case "capitalize": NoArgs(it, name, a); return StrValue.Of(Methods.Capitalize(S(v)));
            case "title":
                NoArgs(it, name, a);
                return StrValue.Of(string.Concat(WordBeginningSplit().Split(S(v)).Where(x => x.Length > 0)
                    .Select(x => char.ToUpperInvariant(x[0]) + x[1..].ToLowerInvariant())));
            case "replace":
            {
                var p = ArgBinder.Bind(it, name, a, "old", "new", "count");
                return Methods.Replace(it, S(v), ArgBinder.Str(it, name, p[0]), ArgBinder.Str(it, name, p[1]), ArgBinder.Int(it, name, p[2], -1));
            }
            case "tojson":
            {
                var p = ArgBinder.Bind(it, name, a, "ensure_ascii", "indent", "separators", "sort_keys");
                var json = PyJson.Dumps(it, v, ArgBinder.Bool(p[0], false), p[1], p[2], ArgBinder.Bool(p[3], false));
                return it.MakeString(json);
            }
            case "join":
            {
                var p = ArgBinder.Bind(it, name, a, "d", "attribute");
                var sep = p[0] == null ? "" : S(p[0]!);
                var items = it.Iterate(v);
                if (p[1] is not (null or NoneValue)) items = items.Select(x => AttrPath(it, x, p[1]!)).ToList();
                var parts = items.Select(S).ToList();
                it.ChargeString(parts.Sum(x => (long)x.Length) + (long)sep.Length * Math.Max(0, parts.Count - 1));
                return StrValue.Of(string.Join(sep, parts));
            }
            case "list":
                NoArgs(it, name, a);
                return new ListValue([.. it.Iterate(v)]);
            case "first":
            {
                NoArgs(it, name, a);
                if (v is GeneratorValue g)
                    return g.Position < g.Items.Count ? g.Items[g.Position++] : new UndefinedValue("No first item, sequence was empty.");
                var items = it.Iterate(v);
                return items.Count > 0 ? items[0] : new UndefinedValue("No first item, sequence was empty.");
            }
            case "last":
            {
                NoArgs(it, name, a);
                if (v is GeneratorValue) throw it.Fail("'generator' object is not reversible");
                var items = it.Iterate(v);
                return items.Count > 0 ? items[^1] : new UndefinedValue("No last item, sequence was empty.");
            }
            case "items":
                NoArgs(it, name, a);
                if (v is UndefinedValue) return new GeneratorValue([]);
                if (v is not DictValue dict) throw it.Fail("can only get item pairs from a mapping.");
                return new GeneratorValue(dict.Map.Select(kv => (Value)new ListValue([kv.Key, kv.Value], true)).ToList());
            case "dictsort":
            {
                var p = ArgBinder.Bind(it, name, a, "case_sensitive", "by", "reverse");
                if (v is not DictValue d) throw it.Fail(v is UndefinedValue u ? u.Hint : $"'{PyOps.TypeName(v)}' object has no attribute 'items'");
                var by = p[1] == null ? "key" : ArgBinder.Str(it, name, p[1]);
                var pos = by switch { "key" => 0, "value" => 1, _ => throw it.Fail("You can only sort by either \"key\" or \"value\"") };
                var cs = ArgBinder.Bool(p[0], false);
                var pairs = d.Map.Select(kv => (Value)new ListValue([kv.Key, kv.Value], true)).ToList();
                return new ListValue(StableSort(it, pairs, x => SortKey(((ListValue)x).Items[pos], cs), ArgBinder.Bool(p[2], false)));
            }
            case "sort":
            {
                var p = ArgBinder.Bind(it, name, a, "reverse", "case_sensitive", "attribute");
                var cs = ArgBinder.Bool(p[1], false);
                var items = it.Iterate(v);
                Func<Value, Value> key = p[2] is null or NoneValue ? x => SortKey(x, cs) : x => SortKey(AttrPath(it, x, p[2]!), cs);
                return new ListValue(StableSort(it, items, key, ArgBinder.Bool(p[0], false)));
            }
            case "unique":
            {
                var p = ArgBinder.Bind(it, name, a, "case_sensitive", "attribute");
                var cs = ArgBinder.Bool(p[0], false);
                var seen = new HashSet<Value>(PyEquality.Instance);
                var outItems = new List<Value>();
                foreach (var x in it.Iterate(v))
                {
                    var k = SortKey(p[1] is null or NoneValue ? x : AttrPath(it, x, p[1]!), cs);
                    if (!PyOps.IsHashable(k)) throw it.Fail($"unhashable type: '{PyOps.TypeName(k)}'");
                    if (seen.Add(k)) outItems.Add(x);
                }
                return new GeneratorValue(outItems);
            }
            case "min" or "max":
            {
                var p = ArgBinder.Bind(it, name, a, "case_sensitive", "attribute");
                var cs = ArgBinder.Bool(p[0], false);
                var items = it.Iterate(v);
                if (items.Count == 0) return new UndefinedValue("No aggregated item, sequence was empty.");
                var best = items[0];
                var bestKey = SortKey(p[1] is null or NoneValue ? best : AttrPath(it, best, p[1]!), cs);
                foreach (var x in items.Skip(1))
                {
                    var k = SortKey(p[1] is null or NoneValue ? x : AttrPath(it, x, p[1]!), cs);
                    var c = PyOps.Compare(k, bestKey, name == "min" ? "<" : ">");
                    if (name == "min" ? c < 0 : c > 0) { best = x; bestKey = k; }
                }
                return best;
            }
            case "map":
                return Map(it, v, a);
            case "select" or "reject":
                return Select(it, v, a, attr: false, keep: name == "select");
            case "selectattr" or "rejectattr":
                return Select(it, v, a, attr: true, keep: name == "selectattr");
            case "indent":
                return Indent(it, v, a);
            case "int":
            {
                var p = ArgBinder.Bind(it, name, a, "default", "base");
                return ToInt(v, p[0] ?? IntValue.Of(0), (int)ArgBinder.Int(it, name, p[1], 10));
            }
            case "float":
            {
                var p = ArgBinder.Bind(it, name, a, "default");
                return ToFloat(v) is { } f ? new FloatValue(f) : p[0] ?? new FloatValue(0.0);
            }
            case "abs":
                NoArgs(it, name, a);
                return v switch
                {
                    IntValue i => IntValue.Of(Math.Abs(i.V)),
                    BoolValue b => IntValue.Of(b.V ? 1 : 0),
                    FloatValue f => new FloatValue(Math.Abs(f.V)),
                    _ => throw it.Fail($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
                };
            case "round":
            {
                var p = ArgBinder.Bind(it, name, a, "precision", "method");
                var prec = (int)ArgBinder.Int(it, name, p[0], 0);
                var method = p[1] == null ? "common" : ArgBinder.Str(it, name, p[1]);
                if (!PyOps.IsNumber(v)) throw it.Fail($"type {PyOps.TypeName(v)} doesn't define __round__ method");
                var x = PyOps.AsDouble(v);
                var scale = Math.Pow(10, prec);
                return method switch
                {
                    "common" when v is not FloatValue => v is BoolValue ? IntValue.Of((long)x) : v,
                    "common" => new FloatValue(Math.Round(x, Math.Clamp(prec, 0, 15), MidpointRounding.ToEven)),
                    "floor" => new FloatValue(Math.Floor(x * scale) / scale),
                    "ceil" => new FloatValue(Math.Ceiling(x * scale) / scale),
                    _ => throw it.Fail("method must be 'common', 'ceil' or 'floor'"),
                };
            }
            case "sum":
            {
                var p = ArgBinder.Bind(it, name, a, "attribute", "start");
                Value total = p[1] ?? IntValue.Of(0);
                foreach (var x in it.Iterate(v))
                    total = Arithmetic.Binary(it, "+", total, p[0] is null or NoneValue ? x : AttrPath(it, x, p[0]!));
                return total;
            }
            case "reverse":
                NoArgs(it, name, a);
                if (v is StrValue s) return StrValue.Of(PyText.Slice(s.S, null, null, -1));
                if (v is GeneratorValue) throw it.Fail("argument to reversed() must be a sequence");
                var rev = new List<Value>(it.Iterate(v));
                rev.Reverse();
                return new GeneratorValue(rev);
            case "attr":
            {
                var p = ArgBinder.Bind(it, name, a, "name");
                return it.GetAttr(v, ArgBinder.Str(it, name, p[0]));
            }
            case "wordcount":
                NoArgs(it, name, a);
                return IntValue.Of(WordRe().Matches(S(v)).Count);
            case "center":
            {
                var p = ArgBinder.Bind(it, name, a, "width");
                return it.GetAttr(StrValue.Of(S(v)), "center") is CallableValue c
                    ? c.Invoke(it, new CallArgs([IntValue.Of(ArgBinder.Int(it, name, p[0], 80))], []))
                    : throw it.Fail("center");
            }
            case "e" or "escape":
                NoArgs(it, name, a);
                if (IsMarkup(v)) return v;
                return StrValue.Markup(Arithmetic.EscapeText(S(v)));
            case "format":
                return it.MakeString(Printf(it, S(v), a));
            default:
                throw it.Fail($"the filter '{name}' is not supported in Sovra's chat templates");
        }
    }

    private static bool IsMarkup(Value v) => v is StrValue { Safe: true };

    private static void NoArgs(Interpreter it, string name, CallArgs a)
    {
        if (a.Positional.Count > 0 || a.Keywords.Count > 0) throw it.Fail($"{name}() takes no arguments");
    }

    public static long Len(Interpreter it, Value v) => v switch
    {
        StrValue s => PyText.Length(s.S),
        ListValue l => l.Items.Count,
        DictValue d => d.Map.Count,
        UndefinedValue => 0,
        NamespaceValue => throw it.Fail("object of type 'Namespace' has no len()"),
        _ => throw it.Fail($"object of type '{PyOps.TypeName(v)}' has no len()"),
    };

    /// <summary>Jinja2's attribute getter for filters: dotted path, integer parts index lists.</summary>
    private static Value AttrPath(Interpreter it, Value item, Value path)
    {
        if (path is IntValue i) return it.GetItem(item, i);
        foreach (var part in S(path).Split('.'))
            item = it.GetItem(item, long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? IntValue.Of(n) : StrValue.Of(part));
        return item;
    }

    private static Value SortKey(Value v, bool caseSensitive) =>
        !caseSensitive && v is StrValue s ? StrValue.Of(s.S.ToLowerInvariant()) : v;

    private static List<Value> StableSort(Interpreter it, List<Value> items, Func<Value, Value> key, bool reverse)
    {
        it.Step(items.Count);
        var keyed = items.Select((x, i) => (Item: x, Key: key(x), Index: i)).ToList();
        keyed.Sort((x, y) =>
        {
            var c = PyOps.Compare(x.Key, y.Key, "<");
            if (reverse) c = -c;
            return c != 0 ? c : x.Index.CompareTo(y.Index);
        });
        return keyed.Select(x => x.Item).ToList();
    }

    private static Value Map(Interpreter it, Value v, CallArgs a)
    {
        // Jinja2 maps nothing over a falsy value (None included) instead of failing.
        var items = PyOps.Truthy(v) ? it.Iterate(v) : [];
        var attribute = a.Keywords.FirstOrDefault(k => k.Key == "attribute").Value;
        if (attribute != null)
        {
            var def = a.Keywords.FirstOrDefault(k => k.Key == "default").Value;
            if (a.Keywords.Any(k => k.Key is not ("attribute" or "default")) || a.Positional.Count > 0)
                throw it.Fail("Unexpected keyword argument for map(attribute=...)");
            return new GeneratorValue(items.Select(x =>
            {
                var r = AttrPath(it, x, attribute);
                return def != null && r is UndefinedValue ? def : r;
            }).ToList());
        }
        if (a.Positional.Count == 0) throw it.Fail("map requires a filter argument");
        var filter = ArgBinder.Str(it, "map", a.Positional[0]);
        if (!IsKnown(filter)) throw it.Fail($"No filter named '{filter}'.");
        var rest = new CallArgs(a.Positional.Skip(1).ToList(), a.Keywords);
        return new GeneratorValue(items.Select(x => Apply(it, filter, x, rest)).ToList());
    }

    private static Value Select(Interpreter it, Value v, CallArgs a, bool attr, bool keep)
    {
        // Jinja2 selects nothing from a falsy value (None included) instead of failing.
        var items = PyOps.Truthy(v) ? it.Iterate(v) : [];
        var pos = a.Positional;
        var i = 0;
        Value? attribute = null;
        if (attr)
        {
            if (pos.Count == 0) throw it.Fail("Missing parameter for attribute name");
            attribute = pos[i++];
        }
        string? test = null;
        if (i < pos.Count) test = ArgBinder.Str(it, "select", pos[i++]);
        if (test != null && !JinjaTests.IsKnown(test)) throw it.Fail($"No test named '{test}'.");
        var testArgs = new CallArgs(pos.Skip(i).ToList(), a.Keywords);
        var result = new List<Value>();
        foreach (var x in items)
        {
            it.Step();
            var subject = attribute != null ? AttrPath(it, x, attribute) : x;
            var ok = test == null ? PyOps.Truthy(subject) : JinjaTests.Apply(it, test, subject, testArgs);
            if (ok == keep) result.Add(x);
        }
        return new GeneratorValue(result);
    }

    private static Value Indent(Interpreter it, Value v, CallArgs a)
    {
        var p = ArgBinder.Bind(it, "indent", a, "width", "first", "blank");
        if (v is UndefinedValue u) throw Interpreter.UndefinedUse(u);
        if (v is not StrValue sv) throw it.Fail($"unsupported operand type(s) for +=: '{PyOps.TypeName(v)}' and 'str'");
        var indentation = p[0] switch
        {
            null => "    ",
            StrValue w => w.S,
            _ => new string(' ', (int)Math.Clamp(ArgBinder.Int(it, "indent", p[0], 4), 0, 1 << 20)),
        };
        var s = sv.S + "\n"; // Jinja2's quirk so that splitlines keeps a trailing empty line
        var lines = Methods.SplitLines(s, false);
        string rv;
        if (ArgBinder.Bool(p[2], false)) rv = string.Join("\n" + indentation, lines);
        else
        {
            var sb = new StringBuilder(lines.Count > 0 ? lines[0] : "");
            if (lines.Count > 1)
                sb.Append('\n').Append(string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indentation + l : l)));
            rv = sb.ToString();
        }
        if (ArgBinder.Bool(p[1], false)) rv = indentation + rv;
        return it.MakeString(rv);
    }

    private static Value ToInt(Value v, Value fallback, int numberBase)
    {
        switch (v)
        {
            case IntValue: return v;
            case BoolValue b: return IntValue.Of(b.V ? 1 : 0);
            case FloatValue f: return double.IsFinite(f.V) && Math.Abs(f.V) < 9.2e18 ? IntValue.Of((long)Math.Truncate(f.V)) : fallback;
            case StrValue s:
                var t = s.S.Trim().Replace("_", "");
                if (numberBase == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return IntValue.Of(n);
                if (numberBase != 10)
                {
                    try { return IntValue.Of(Convert.ToInt64(t, numberBase)); } catch (Exception e) when (e is FormatException or ArgumentException or OverflowException) { }
                }
                return ToFloat(v) is { } dv && double.IsFinite(dv) && Math.Abs(dv) < 9.2e18 ? IntValue.Of((long)Math.Truncate(dv)) : fallback;
            default: return fallback;
        }
    }

    private static double? ToFloat(Value v)
    {
        switch (v)
        {
            case IntValue or FloatValue or BoolValue: return PyOps.AsDouble(v);
            case StrValue s:
                var t = s.S.Trim().Replace("_", "");
                var low = t.ToLowerInvariant();
                if (low is "inf" or "+inf" or "infinity" or "+infinity") return double.PositiveInfinity;
                if (low is "-inf" or "-infinity") return double.NegativeInfinity;
                if (low is "nan" or "+nan" or "-nan") return double.NaN;
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
            default: return null;
        }
    }

    /// <summary>The format filter: printf-style "%s" / "%d" / "%r" / "%%" with positional or named (%(name)s) values.</summary>
    internal static string Printf(Interpreter it, string fmt, CallArgs a)
    {
        if (a.Positional.Count > 0 && a.Keywords.Count > 0) throw it.Fail("can't handle positional and keyword arguments at the same time");
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%') { sb.Append(fmt[i]); continue; }
            if (++i >= fmt.Length) throw it.Fail("incomplete format");
            Value? arg = null;
            if (fmt[i] == '(')
            {
                var close = fmt.IndexOf(')', i);
                if (close < 0) throw it.Fail("incomplete format key");
                var key = fmt[(i + 1)..close];
                arg = a.Keywords.FirstOrDefault(k => k.Key == key).Value ?? throw it.Fail($"KeyError: '{key}'");
                i = close + 1;
                if (i >= fmt.Length) throw it.Fail("incomplete format");
            }
            var conv = fmt[i];
            if (conv == '%') { sb.Append('%'); continue; }
            arg ??= next < a.Positional.Count ? a.Positional[next++] : throw it.Fail("not enough arguments for format string");
            sb.Append(conv switch
            {
                's' => S(arg),
                'r' => PyText.Repr(arg),
                'd' or 'i' => PyOps.IsNumber(arg) ? ((long)Math.Truncate(PyOps.AsDouble(arg))).ToString(CultureInfo.InvariantCulture) : throw it.Fail($"%{conv} format: a real number is required, not {PyOps.TypeName(arg)}"),
                _ => throw it.Fail($"format conversion '%{conv}' is not supported in Sovra's chat templates"),
            });
            it.ChargeString(sb.Length);
        }
        if (a.Keywords.Count == 0 && next < a.Positional.Count) throw it.Fail("not all arguments converted during string formatting");
        return sb.ToString();
    }
}
