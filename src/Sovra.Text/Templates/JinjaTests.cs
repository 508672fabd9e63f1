namespace Sovra.Text.Templates;

/// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is string</c>, <c>x is mapping</c>...), with Python's type rules.</summary>
internal static class JinjaTests
{
    private static readonly HashSet<string> Names =
    [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true", "integer",
        "float", "number", "string", "mapping", "sequence", "iterable", "callable", "sameas", "escaped", "in", "lower", "upper",
        "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge", "<", "lt", "lessthan", "<=", "le",
    ];

    public static bool IsKnown(string name) => Names.Contains(name);

    public static bool Apply(Interpreter it, string name, Value v, CallArgs a)
    {
        it.Step();
        Value Arg()
        {
            if (a.Positional.Count == 1 && a.Keywords.Count == 0) return a.Positional[0];
            if (a.Positional.Count == 0 && a.Keywords.Count == 1) return a.Keywords[0].Value;
            throw it.Fail($"test '{name}' takes exactly one argument");
        }
        void None()
        {
            if (a.Positional.Count > 0 || a.Keywords.Count > 0) throw it.Fail($"test '{name}' takes no arguments");
        }
        switch (name)
        {
            case "defined": None(); return v is not UndefinedValue;
            case "undefined": None(); return v is UndefinedValue;
            case "none": None(); return v is NoneValue;
            case "boolean": None(); return v is BoolValue;
            case "true": None(); return v is BoolValue { V: true };
            case "false": None(); return v is BoolValue { V: false };
            case "integer": None(); return v is IntValue;
            case "float": None(); return v is FloatValue;
            case "number": None(); return v is IntValue or FloatValue or BoolValue;
            case "string": None(); return v is StrValue;
            case "mapping": None(); return v is DictValue;
            // Python: len() and __getitem__ both work. Jinja2's Undefined has both, so it counts as a sequence.
            case "sequence": None(); return v is StrValue or ListValue or DictValue or UndefinedValue;
            case "iterable": None(); return v is StrValue or ListValue or DictValue or UndefinedValue or GeneratorValue;
            case "callable": None(); return v is CallableValue or MacroValue;
            case "escaped": None(); return false;
            case "filter": None(); return v is StrValue fs && Filters.IsKnown(fs.S);
            case "test": None(); return v is StrValue ts && IsKnown(ts.S);
            case "odd": None(); return IntArg(it, v) % 2 != 0;
            case "even": None(); return IntArg(it, v) % 2 == 0;
            case "divisibleby":
            {
                var d = Arg();
                if (PyOps.AsInt(v) is { } x && PyOps.AsInt(d) is { } y)
                    return y == 0 ? throw it.Fail("integer division or modulo by zero") : ((x % y) + y) % y == 0;
                return PyOps.AsDouble(Arithmetic.Binary(it, "%", v, d)) == 0;
            }
            case "lower": None(); { var s = PyText.Str(v); return s.Any(char.IsLower) && !s.Any(char.IsUpper); }
            case "upper": None(); { var s = PyText.Str(v); return s.Any(char.IsUpper) && !s.Any(char.IsLower); }
            case "sameas":
            {
                var o = Arg();
                return ReferenceEquals(v, o) || (v is NoneValue && o is NoneValue) || (v is BoolValue bv && o is BoolValue bo && bv.V == bo.V);
            }
            case "in": return it.Contains(Arg(), v);
            case "==" or "eq" or "equalto": return PyOps.Equals(v, Arg());
            case "!=" or "ne": return !PyOps.Equals(v, Arg());
            case ">" or "gt" or "greaterthan": return PyOps.Compare(v, Arg(), ">") > 0;
            case ">=" or "ge": return PyOps.Compare(v, Arg(), ">=") >= 0;
            case "<" or "lt" or "lessthan": return PyOps.Compare(v, Arg(), "<") < 0;
            case "<=" or "le": return PyOps.Compare(v, Arg(), "<=") <= 0;
            default: throw it.Fail($"No test named '{name}'.");
        }
    }

    private static long IntArg(Interpreter it, Value v)
    {
        if (v is UndefinedValue u) throw Interpreter.UndefinedUse(u);
        return PyOps.AsInt(v) ?? (v is FloatValue f ? (long)f.V : throw it.Fail($"not all arguments converted during string formatting"));
    }
}
