namespace Sovra.Text.Templates;

/// <summary>Binds call arguments to a Python-style signature (positional or keyword, with defaults).</summary>
internal static class ArgBinder
{
    /// <summary>
    /// Returns one slot per parameter name; a slot is null when neither given nor defaulted
    /// (the caller decides whether that is an error). Unknown keywords and surplus positionals throw.
    /// </summary>
    public static Value?[] Bind(Interpreter it, string function, CallArgs args, params string[] names)
    {
        if (args.Positional.Count > names.Length)
            throw it.Fail($"{function}() takes at most {names.Length} argument(s) ({args.Positional.Count} given)");
        var slots = new Value?[names.Length];
        for (var i = 0; i < args.Positional.Count; i++) slots[i] = args.Positional[i];
        foreach (var (k, v) in args.Keywords)
        {
            var idx = Array.IndexOf(names, k);
            if (idx < 0) throw it.Fail($"{function}() got an unexpected keyword argument '{k}'");
            if (slots[idx] != null) throw it.Fail($"{function}() got multiple values for argument '{k}'");
            slots[idx] = v;
        }
        return slots;
    }

    public static string Str(Interpreter it, string function, Value? v, string? fallback = null)
    {
        if (v == null) return fallback ?? throw it.Fail($"{function}() missing a required argument");
        return v is StrValue s ? s.S : throw it.Fail($"{function}() argument must be str, not {PyOps.TypeName(v)}");
    }

    public static long Int(Interpreter it, string function, Value? v, long fallback)
    {
        if (v == null || v is NoneValue) return fallback;
        return PyOps.AsInt(v) ?? throw it.Fail($"{function}() argument must be an integer, not {PyOps.TypeName(v)}");
    }

    public static bool Bool(Value? v, bool fallback) => v == null ? fallback : PyOps.Truthy(v);
}
