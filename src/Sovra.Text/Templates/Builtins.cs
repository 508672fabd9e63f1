namespace Sovra.Text.Templates;

/// <summary>
/// Globals every template sees: Jinja2's defaults (range, dict, namespace) and the two functions
/// Hugging Face adds (raise_exception, strftime_now).
/// </summary>
internal static class Builtins
{
    private static readonly Dictionary<string, Value> All = new(StringComparer.Ordinal)
    {
        ["range"] = new CallableValue("range", Range),
        ["dict"] = new CallableValue("dict", Dict),
        ["namespace"] = new CallableValue("namespace", Namespace),
        ["raise_exception"] = new CallableValue("raise_exception", (it, a) =>
            throw new TemplateRaisedException(a.Positional.Count > 0 ? PyText.Str(a.Positional[0]) : "", it.Line)),
        ["strftime_now"] = new CallableValue("strftime_now", (it, a) =>
        {
            var fmt = ArgBinder.Str(it, "strftime_now", ArgBinder.Bind(it, "strftime_now", a, "format")[0]);
            return it.MakeString(PyStrftime.Format(it.Now, fmt));
        }),
    };

    public static Value? Lookup(string name) => All.TryGetValue(name, out var v) ? v : null;

    private static Value Range(Interpreter it, CallArgs a)
    {
        if (a.Keywords.Count > 0) throw it.Fail("range() takes no keyword arguments");
        var n = a.Positional.Select(v => PyOps.AsInt(v) ?? throw it.Fail($"'{PyOps.TypeName(v)}' object cannot be interpreted as an integer")).ToArray();
        long start = 0, stop, step = 1;
        switch (n.Length)
        {
            case 1: stop = n[0]; break;
            case 2: start = n[0]; stop = n[1]; break;
            case 3: start = n[0]; stop = n[1]; step = n[2]; break;
            default: throw it.Fail($"range expected 1 to 3 arguments, got {n.Length}");
        }
        if (step == 0) throw it.Fail("range() arg 3 must not be zero");
        var count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        it.CheckItems(count);
        var items = new List<Value>((int)count);
        for (long i = 0, v = start; i < count; i++, v += step) items.Add(IntValue.Of(v));
        return new ListValue(items);
    }

    private static Value Dict(Interpreter it, CallArgs a)
    {
        var d = new DictValue();
        if (a.Positional.Count > 1) throw it.Fail("dict expected at most 1 argument");
        if (a.Positional.Count == 1)
        {
            if (a.Positional[0] is DictValue src) foreach (var (k, v) in src.Map) d.Map[k] = v;
            else
                foreach (var pair in it.Iterate(a.Positional[0]))
                {
                    var kv = it.Iterate(pair);
                    if (kv.Count != 2) throw it.Fail("dictionary update sequence element has wrong length; 2 is required");
                    if (!PyOps.IsHashable(kv[0])) throw it.Fail($"unhashable type: '{PyOps.TypeName(kv[0])}'");
                    d.Map[kv[0]] = kv[1];
                }
        }
        foreach (var (k, v) in a.Keywords) d.Set(k, v);
        return d;
    }

    private static Value Namespace(Interpreter it, CallArgs a)
    {
        var ns = new NamespaceValue();
        if (a.Positional.Count > 1) throw it.Fail("namespace expected at most 1 positional argument");
        if (a.Positional.Count == 1)
        {
            if (a.Positional[0] is not DictValue src) throw it.Fail("namespace() argument must be a mapping");
            foreach (var (k, v) in src.Map) ns.Attrs[PyText.Str(k)] = v;
        }
        foreach (var (k, v) in a.Keywords) ns.Attrs[k] = v;
        return ns;
    }
}
