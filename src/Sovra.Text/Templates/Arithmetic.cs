namespace Sovra.Text.Templates;

/// <summary>Python's binary and unary operators (+ - * / // % ** ~) on template values.</summary>
internal static class Arithmetic
{
    public static Value Binary(Interpreter it, string op, Value l, Value r)
    {
        if (op == "~")
        {
            var a = PyText.Str(l);
            var b = PyText.Str(r);
            it.ChargeString((long)a.Length + b.Length);
            return StrValue.Of(a + b);
        }
        if (l is UndefinedValue ul) throw Interpreter.UndefinedUse(ul);
        if (r is UndefinedValue ur) throw Interpreter.UndefinedUse(ur);
        if (PyOps.IsNumber(l) && PyOps.IsNumber(r)) return Numeric(it, op, l, r);
        switch (op)
        {
            case "+" when l is StrValue a && r is StrValue b:
                it.ChargeString((long)a.S.Length + b.S.Length);
                if (a.Safe || b.Safe) return StrValue.Markup(Escape(a) + Escape(b));
                return StrValue.Of(a.S + b.S);
            case "+" when l is ListValue a && r is ListValue b && a.IsTuple == b.IsTuple:
                it.CheckItems((long)a.Items.Count + b.Items.Count);
                return new ListValue([.. a.Items, .. b.Items], a.IsTuple);
            case "*" when l is StrValue or ListValue && PyOps.AsInt(r) is { } n:
                return Repeat(it, l, n);
            case "*" when r is StrValue or ListValue && PyOps.AsInt(l) is { } n:
                return Repeat(it, r, n);
            case "+" when l is StrValue:
                throw it.Fail($"can only concatenate str (not \"{PyOps.TypeName(r)}\") to str");
            case "%" when l is StrValue fmt:
            {
                // Python's str % args: a tuple spreads, a dict supplies %(name)s, anything else is the one value.
                var args = r switch
                {
                    ListValue { IsTuple: true } t => new CallArgs(t.Items, []),
                    DictValue d => new CallArgs([], d.Map.Select(kv => new KeyValuePair<string, Value>(PyText.Str(kv.Key), kv.Value)).ToList()),
                    _ => new CallArgs([r], []),
                };
                return it.MakeString(Filters.Printf(it, fmt.S, args));
            }
        }
        throw it.Fail($"unsupported operand type(s) for {op}: '{PyOps.TypeName(l)}' and '{PyOps.TypeName(r)}'");
    }

    /// <summary>markupsafe.escape: Markup passes unchanged, plain text has &amp; &lt; &gt; " ' escaped.</summary>
    public static string Escape(StrValue s) => s.Safe ? s.S : EscapeText(s.S);

    public static string EscapeText(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    private static Value Repeat(Interpreter it, Value seq, long n)
    {
        if (n <= 0) return seq is StrValue ? StrValue.Empty : new ListValue([], ((ListValue)seq).IsTuple);
        if (seq is StrValue s)
        {
            it.ChargeString(s.S.Length * n);
            return new StrValue(string.Concat(Enumerable.Repeat(s.S, (int)n)), s.Safe);
        }
        var l = (ListValue)seq;
        it.CheckItems(l.Items.Count * n);
        var items = new List<Value>();
        for (var i = 0; i < n; i++) items.AddRange(l.Items);
        return new ListValue(items, l.IsTuple);
    }

    private static Value Numeric(Interpreter it, string op, Value l, Value r)
    {
        if (l is FloatValue || r is FloatValue || op == "/")
        {
            var a = PyOps.AsDouble(l);
            var b = PyOps.AsDouble(r);
            switch (op)
            {
                case "+": return new FloatValue(a + b);
                case "-": return new FloatValue(a - b);
                case "*": return new FloatValue(a * b);
                case "/":
                    if (b == 0) throw it.Fail("division by zero");
                    return new FloatValue(a / b);
                case "//":
                    if (b == 0) throw it.Fail("float floor division by zero");
                    return new FloatValue(Math.Floor(a / b));
                case "%":
                    if (b == 0) throw it.Fail("float modulo");
                    var m = a % b;
                    if (m != 0 && (m < 0) != (b < 0)) m += b;
                    return new FloatValue(m);
                case "**": return new FloatValue(Math.Pow(a, b));
            }
        }
        var x = PyOps.AsInt(l)!.Value;
        var y = PyOps.AsInt(r)!.Value;
        try
        {
            checked
            {
                switch (op)
                {
                    case "+": return IntValue.Of(x + y);
                    case "-": return IntValue.Of(x - y);
                    case "*": return IntValue.Of(x * y);
                    case "//":
                        if (y == 0) throw it.Fail("integer division or modulo by zero");
                        return IntValue.Of(FloorDiv(x, y));
                    case "%":
                        if (y == 0) throw it.Fail("integer division or modulo by zero");
                        return IntValue.Of(x - FloorDiv(x, y) * y);
                    case "**":
                        if (y < 0) return new FloatValue(Math.Pow(x, y));
                        long result = 1;
                        for (long i = 0; i < y; i++)
                        {
                            it.Step();
                            result *= x;
                            if (result == 0 || result == 1) break;
                        }
                        return IntValue.Of(result);
                }
            }
        }
        catch (OverflowException)
        {
            throw it.Fail("integer result too large (Sovra's templates use 64-bit integers)");
        }
        throw it.Fail($"unknown operator {op}");
    }

    private static long FloorDiv(long x, long y)
    {
        var q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
        return q;
    }

    public static Value Negate(Interpreter it, Value v) => v switch
    {
        IntValue i => IntValue.Of(-i.V),
        BoolValue b => IntValue.Of(b.V ? -1 : 0),
        FloatValue f => new FloatValue(-f.V),
        UndefinedValue u => throw Interpreter.UndefinedUse(u),
        _ => throw it.Fail($"bad operand type for unary -: '{PyOps.TypeName(v)}'"),
    };

    public static Value Plus(Interpreter it, Value v) => v switch
    {
        IntValue or FloatValue => v,
        BoolValue b => IntValue.Of(b.V ? 1 : 0),
        UndefinedValue u => throw Interpreter.UndefinedUse(u),
        _ => throw it.Fail($"bad operand type for unary +: '{PyOps.TypeName(v)}'"),
    };
}
