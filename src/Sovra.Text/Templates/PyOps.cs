namespace Sovra.Text.Templates;

/// <summary>Python semantics of truthiness, equality, ordering, arithmetic and membership over template values.</summary>
internal static class PyOps
{
    public static bool Truthy(Value v) => v switch
    {
        NoneValue => false,
        BoolValue b => b.V,
        IntValue i => i.V != 0,
        FloatValue f => f.V != 0,
        StrValue s => s.S.Length > 0,
        ListValue l => l.Items.Count > 0,
        DictValue d => d.Map.Count > 0,
        UndefinedValue => false,
        _ => true, // macros, namespaces, callables, loops, generators
    };

    public static string TypeName(Value v) => v switch
    {
        NoneValue => "NoneType",
        BoolValue => "bool",
        IntValue => "int",
        FloatValue => "float",
        StrValue => "str",
        ListValue l => l.IsTuple ? "tuple" : "list",
        DictValue => "dict",
        UndefinedValue => "Undefined",
        NamespaceValue => "Namespace",
        MacroValue => "Macro",
        CallableValue => "builtin_function_or_method",
        LoopValue => "LoopContext",
        GeneratorValue => "generator",
        _ => "object",
    };

    public static bool IsNumber(Value v) => v is IntValue or FloatValue or BoolValue;

    public static double AsDouble(Value v) => v switch
    {
        IntValue i => i.V,
        FloatValue f => f.V,
        BoolValue b => b.V ? 1 : 0,
        _ => throw new InvalidOperationException(),
    };

    /// <summary>An int (bools count as ints, as in Python) or null.</summary>
    public static long? AsInt(Value v) => v switch
    {
        IntValue i => i.V,
        BoolValue b => b.V ? 1 : 0,
        _ => null,
    };

    public static bool Equals(Value a, Value b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is FloatValue || b is FloatValue) return AsDouble(a) == AsDouble(b);
            return AsInt(a) == AsInt(b);
        }
        switch (a)
        {
            case StrValue sa: return b is StrValue sb && sa.S == sb.S;
            case NoneValue: return b is NoneValue;
            case UndefinedValue: return b is UndefinedValue;
            case ListValue la:
                if (b is not ListValue lb || la.IsTuple != lb.IsTuple || la.Items.Count != lb.Items.Count) return false;
                System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
                for (var i = 0; i < la.Items.Count; i++)
                    if (!Equals(la.Items[i], lb.Items[i])) return false;
                return true;
            case DictValue da:
                if (b is not DictValue db || da.Map.Count != db.Map.Count) return false;
                System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
                foreach (var (k, v) in da.Map)
                    if (!db.Map.TryGetValue(k, out var w) || !Equals(v, w)) return false;
                return true;
            default: return false;
        }
    }

    public static int Hash(Value v) => v switch
    {
        StrValue s => s.S.GetHashCode(),
        IntValue i => i.V.GetHashCode(),
        BoolValue b => (b.V ? 1L : 0L).GetHashCode(),
        FloatValue f => f.V == Math.Floor(f.V) && Math.Abs(f.V) < 9e18 ? ((long)f.V).GetHashCode() : f.V.GetHashCode(),
        NoneValue => 0x5eed,
        ListValue l when l.IsTuple => HashTuple(l),
        _ => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(v),
    };

    private static int HashTuple(ListValue l)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        return l.Items.Aggregate(17, (h, x) => h * 31 + Hash(x));
    }

    public static bool IsHashable(Value v) => v switch
    {
        ListValue l => l.IsTuple && l.Items.All(IsHashable),
        DictValue => false,
        _ => true,
    };

    /// <summary>Python's ordering (&lt;): numbers with numbers, str with str, lists lexicographically.</summary>
    public static int Compare(Value a, Value b, string op)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is FloatValue || b is FloatValue)
            {
                var x = AsDouble(a); var y = AsDouble(b);
                return x < y ? -1 : x > y ? 1 : 0;
            }
            return AsInt(a)!.Value.CompareTo(AsInt(b)!.Value);
        }
        if (a is StrValue sa && b is StrValue sb) return CompareCodePoints(sa.S, sb.S);
        if (a is ListValue la && b is ListValue lb && la.IsTuple == lb.IsTuple)
        {
            System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
            for (var i = 0; i < Math.Min(la.Items.Count, lb.Items.Count); i++)
            {
                if (Equals(la.Items[i], lb.Items[i])) continue;
                return Compare(la.Items[i], lb.Items[i], op);
            }
            return la.Items.Count.CompareTo(lb.Items.Count);
        }
        if (a is UndefinedValue u) throw Interpreter.UndefinedUse(u);
        if (b is UndefinedValue u2) throw Interpreter.UndefinedUse(u2);
        throw new TemplateRuntimeException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'", 0);
    }

    /// <summary>Ordinal comparison by Unicode code point (UTF-16 ordinal order differs above U+D7FF).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            if (a[i] == b[i]) continue;
            if (char.IsSurrogate(a[i]) || char.IsSurrogate(b[i])) return CodePointAt(a, i).CompareTo(CodePointAt(b, i));
            return a[i].CompareTo(b[i]);
        }
        return a.Length.CompareTo(b.Length);
    }

    private static int CodePointAt(string s, int i) =>
        char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? char.ConvertToUtf32(s[i], s[i + 1]) : s[i];

    /// <summary>The indices a Python slice selects from a sequence of length n.</summary>
    public static IEnumerable<int> SliceIndices(int n, long? start, long? stop, long? step)
    {
        var st = step ?? 1;
        if (st == 0) throw new TemplateRuntimeException("slice step cannot be zero", 0);
        long lo, hi;
        if (st > 0)
        {
            lo = Clamp(start ?? 0, n, 0, n);
            hi = Clamp(stop ?? n, n, 0, n);
            for (var i = lo; i < hi; i += st) yield return (int)i;
        }
        else
        {
            lo = Clamp(start ?? n - 1, n, -1, n - 1);
            hi = Clamp(stop ?? -n - 1, n, -1, n - 1);
            for (var i = lo; i > hi; i += st) yield return (int)i;
        }
    }

    private static long Clamp(long i, int n, long min, long max)
    {
        if (i < 0) i += n;
        return Math.Clamp(i, min, max);
    }
}

/// <summary>Dictionary key comparer with Python's equality and hashing.</summary>
internal sealed class PyEquality : IEqualityComparer<Value>
{
    public static readonly PyEquality Instance = new();
    public bool Equals(Value? x, Value? y) => x != null && y != null && PyOps.Equals(x, y);
    public int GetHashCode(Value obj) => PyOps.Hash(obj);
}
