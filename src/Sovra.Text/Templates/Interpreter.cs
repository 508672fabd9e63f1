using System.Runtime.CompilerServices;
using System.Text;

namespace Sovra.Text.Templates;

/// <summary>
/// Tree-walking evaluator with Jinja2's semantics (ImmutableSandboxedEnvironment, default Undefined).
/// Every node costs a step; strings built cost steps in proportion to their length; output, strings,
/// ranges, macro recursion and native stack are all capped by <see cref="TemplateLimits"/>.
/// </summary>
internal sealed partial class Interpreter
{
    private enum Flow { Normal, Break, Continue }

    /// <summary>Characters of built strings paid for by one step; bounds the total memory a render can churn through.</summary>
    private const int CharsPerStep = 8;

    private readonly TemplateLimits _limits;
    private readonly IReadOnlyDictionary<string, Value> _globals;
    private long _steps;
    private int _macroDepth;
    private int _line;
    public DateTimeOffset Now { get; }

    public Interpreter(TemplateLimits limits, IReadOnlyDictionary<string, Value> globals, DateTimeOffset now)
    {
        _limits = limits;
        _globals = globals;
        Now = now;
    }

    public int Line => _line;

    /// <summary>Steps used so far (for measuring real templates against the budget).</summary>
    public long Steps => _steps;

    public string Render(List<Node> body)
    {
        var output = new Sink(this);
        try
        {
            ExecBody(body, new Scope(null), output);
        }
        catch (TemplateRuntimeException e) when (e.Line == 0)
        {
            throw e switch
            {
                TemplateSecurityException => new TemplateSecurityException(e.Message, _line),
                TemplateRaisedException r => new TemplateRaisedException(r.TemplateMessage, _line),
                _ => new TemplateRuntimeException(e.Message, _line),
            };
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateLimitException(TemplateLimit.StackSpace, "template nests too deeply for the available stack", _line);
        }
        return output.ToString();
    }

    // ---- budgets ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(long n = 1)
    {
        _steps += n;
        if (_steps > _limits.MaxSteps)
            throw new TemplateLimitException(TemplateLimit.Steps, $"template exceeded its budget of {_limits.MaxSteps} evaluation steps", _line);
    }

    /// <summary>Accounts for a string about to be built; throws when it is too large.</summary>
    public void ChargeString(long length)
    {
        if (length > _limits.MaxStringChars)
            throw new TemplateLimitException(TemplateLimit.StringSize, $"template built a string of {length} characters; the limit is {_limits.MaxStringChars}", _line);
        Step(length / CharsPerStep);
    }

    public StrValue MakeString(string s)
    {
        ChargeString(s.Length);
        return StrValue.Of(s);
    }

    public void CheckItems(long count)
    {
        if (count > _limits.MaxRangeItems)
            throw new TemplateLimitException(TemplateLimit.RangeSize, $"template built a sequence of {count} items; the limit is {_limits.MaxRangeItems}", _line);
        Step(count / CharsPerStep);
    }

    private static void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new InsufficientExecutionStackException();
    }

    /// <summary>Output buffer of the render or of a captured block (set-block, macro, call, filter).</summary>
    internal sealed class Sink(Interpreter owner)
    {
        private readonly StringBuilder _sb = new();

        public void Write(string s)
        {
            if (s.Length == 0) return;
            if ((long)_sb.Length + s.Length > owner._limits.MaxOutputChars)
                throw new TemplateLimitException(TemplateLimit.OutputSize, $"template output exceeded {owner._limits.MaxOutputChars} characters", owner._line);
            owner.Step(s.Length / CharsPerStep);
            _sb.Append(s);
        }

        public override string ToString() => _sb.ToString();
    }

    // ---- statements ----

    private Flow ExecBody(List<Node> body, Scope scope, Sink output)
    {
        foreach (var node in body)
        {
            var flow = Exec(node, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Exec(Node node, Scope scope, Sink output)
    {
        Step();
        EnsureStack();
        _line = node.Line;
        switch (node)
        {
            case TextNode t:
                output.Write(t.Text);
                return Flow.Normal;
            case OutputNode o:
                output.Write(PyText.Str(Eval(o.Expr, scope)));
                return Flow.Normal;
            case IfNode i:
                foreach (var (test, body) in i.Branches)
                    if (PyOps.Truthy(Eval(test, scope))) return ExecBody(body, scope, output);
                return i.Else != null ? ExecBody(i.Else, scope, output) : Flow.Normal;
            case ForNode f:
                ExecFor(f, scope, output);
                return Flow.Normal;
            case SetNode s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockNode sb:
            {
                var inner = new Sink(this);
                ExecBody(sb.Body, scope, inner);
                Value v = StrValue.Of(inner.ToString());
                foreach (var fe in sb.Filters) v = ApplyFilter(fe, v, scope);
                Assign(sb.Target, v, scope);
                return Flow.Normal;
            }
            case MacroNode m:
                scope.Set(m.Name, new MacroValue(m, scope));
                return Flow.Normal;
            case CallBlockNode cb:
            {
                var caller = new MacroNode("caller", cb.CallerParams, cb.Body, false, false, false, cb.Line);
                var callee = Eval(cb.Call.Callee, scope);
                var args = EvalArgs(cb.Call.Args, scope);
                args.Keywords.Add(new("caller", new MacroValue(caller, scope)));
                output.Write(PyText.Str(CallValue(callee, args)));
                return Flow.Normal;
            }
            case FilterBlockNode fb:
            {
                var inner = new Sink(this);
                ExecBody(fb.Body, scope, inner);
                Value v = StrValue.Of(inner.ToString());
                foreach (var fe in fb.Filters) v = ApplyFilter(fe, v, scope);
                output.Write(PyText.Str(v));
                return Flow.Normal;
            }
            case WithNode w:
            {
                // Values are evaluated in the outer scope, then bound in the with-block's own scope.
                var values = w.Assignments.Select(a => Eval(a.Value, scope)).ToList();
                var inner = new Scope(scope);
                for (var i = 0; i < values.Count; i++) Assign(w.Assignments[i].Target, values[i], inner);
                ExecBody(w.Body, inner, output);
                return Flow.Normal;
            }
            case ScopeNode sn:
                ExecBody(sn.Body, new Scope(scope), output);
                return Flow.Normal;
            case BreakNode: return Flow.Break;
            case ContinueNode: return Flow.Continue;
            default: throw new InvalidOperationException("unknown node " + node.GetType().Name);
        }
    }

    private void ExecFor(ForNode f, Scope scope, Sink output)
    {
        var source = Iterate(Eval(f.Iter, scope));
        List<Value> items;
        if (f.Filter == null) items = source;
        else
        {
            items = [];
            foreach (var item in source)
            {
                Step();
                var fs = new Scope(scope);
                Assign(f.Target, item, fs);
                if (PyOps.Truthy(Eval(f.Filter, fs))) items.Add(item);
            }
        }
        if (items.Count == 0)
        {
            if (f.Else != null) ExecBody(f.Else, scope, output);
            return;
        }
        // loop.depth only grows in recursive loops, which Sovra does not support; a nested loop is depth 1.
        var loop = new LoopValue(items);
        for (var i = 0; i < items.Count; i++)
        {
            Step();
            loop.Index0 = i;
            var iter = new Scope(scope);
            Assign(f.Target, items[i], iter);
            iter.Set("loop", loop);
            if (ExecBody(f.Body, iter, output) == Flow.Break) break;
        }
    }

    private void Assign(Target target, Value value, Scope scope)
    {
        switch (target)
        {
            case NameTarget n:
                scope.Set(n.Name, value);
                break;
            case TupleTarget t:
                var items = Iterate(value);
                if (items.Count != t.Items.Count)
                    throw Fail(items.Count > t.Items.Count
                        ? $"too many values to unpack (expected {t.Items.Count})"
                        : $"not enough values to unpack (expected {t.Items.Count}, got {items.Count})");
                for (var i = 0; i < items.Count; i++) Assign(t.Items[i], items[i], scope);
                break;
            case NamespaceAttrTarget na:
                if ((scope.Lookup(na.Name) ?? Global(na.Name)) is not NamespaceValue ns)
                    throw Fail("cannot assign attribute on non-namespace object");
                ns.Attrs[na.Attr] = value;
                break;
        }
    }

    private Value? Global(string name) => _globals.TryGetValue(name, out var v) ? v : null;

    // ---- expressions ----

    public Value Eval(Expr e, Scope scope)
    {
        Step();
        EnsureStack();
        switch (e)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n:
                return scope.Lookup(n.Name) ?? Global(n.Name) ?? Builtins.Lookup(n.Name) ?? new UndefinedValue($"'{n.Name}' is undefined");
            case AttrExpr a:
                _line = a.Line;
                return GetAttr(Eval(a.Target, scope), a.Attr);
            case ItemExpr it:
            {
                var target = Eval(it.Target, scope);
                var index = Eval(it.Index, scope);
                _line = it.Line;
                return GetItem(target, index);
            }
            case SliceExpr s:
                return EvalSlice(s, scope);
            case ListExpr l:
            {
                var items = new List<Value>(l.Items.Count);
                foreach (var x in l.Items) items.Add(Eval(x, scope));
                return new ListValue(items, l.IsTuple);
            }
            case DictExpr d:
            {
                var dict = new DictValue(d.Items.Count);
                foreach (var (k, v) in d.Items)
                {
                    var key = Eval(k, scope);
                    if (!PyOps.IsHashable(key)) throw Fail($"unhashable type: '{PyOps.TypeName(key)}'");
                    dict.Map[key] = Eval(v, scope);
                }
                return dict;
            }
            case UnaryExpr u:
            {
                var v = Eval(u.Operand, scope);
                _line = u.Line;
                return u.Op switch
                {
                    "not" => BoolValue.Of(!PyOps.Truthy(v)),
                    "-" => Arithmetic.Negate(this, v),
                    _ => Arithmetic.Plus(this, v),
                };
            }
            case BinaryExpr b:
                if (b.Op == "and")
                {
                    var l = Eval(b.Left, scope);
                    return PyOps.Truthy(l) ? Eval(b.Right, scope) : l;
                }
                if (b.Op == "or")
                {
                    var l = Eval(b.Left, scope);
                    return PyOps.Truthy(l) ? l : Eval(b.Right, scope);
                }
                else
                {
                    var l = Eval(b.Left, scope);
                    var r = Eval(b.Right, scope);
                    _line = b.Line;
                    return Arithmetic.Binary(this, b.Op, l, r);
                }
            case CompareExpr c:
            {
                var left = Eval(c.First, scope);
                foreach (var (op, rightExpr) in c.Rest)
                {
                    var right = Eval(rightExpr, scope);
                    _line = c.Line;
                    if (!CompareOne(op, left, right)) return BoolValue.False;
                    left = right;
                }
                return BoolValue.True;
            }
            case CondExpr c:
                if (PyOps.Truthy(Eval(c.Test, scope))) return Eval(c.Then, scope);
                return c.Else != null ? Eval(c.Else, scope) : new UndefinedValue("the inline if-expression on line " + c.Line + " evaluated to false and no else section was defined.");
            case CallExpr call:
            {
                var callee = Eval(call.Callee, scope);
                var args = EvalArgs(call.Args, scope);
                _line = call.Line;
                return CallValue(callee, args);
            }
            case FilterExpr f:
                return ApplyFilter(f, Eval(f.Target!, scope), scope);
            case TestExpr t:
            {
                var v = Eval(t.Target, scope);
                var args = EvalArgs(t.Args, scope);
                _line = t.Line;
                var r = JinjaTests.Apply(this, t.Name, v, args);
                return BoolValue.Of(r != t.Negated);
            }
            default:
                throw new InvalidOperationException("unknown expression " + e.GetType().Name);
        }
    }

    private bool CompareOne(string op, Value l, Value r) => op switch
    {
        "==" => PyOps.Equals(l, r),
        "!=" => !PyOps.Equals(l, r),
        "<" => PyOps.Compare(l, r, op) < 0,
        "<=" => PyOps.Compare(l, r, op) <= 0,
        ">" => PyOps.Compare(l, r, op) > 0,
        ">=" => PyOps.Compare(l, r, op) >= 0,
        "in" => Contains(r, l),
        "notin" => !Contains(r, l),
        _ => throw new InvalidOperationException(op),
    };

    public bool Contains(Value container, Value item)
    {
        switch (container)
        {
            case StrValue s:
                if (item is not StrValue sub) throw Fail($"'in <string>' requires string as left operand, not {PyOps.TypeName(item)}");
                Step(s.S.Length / CharsPerStep);
                return s.S.Contains(sub.S, StringComparison.Ordinal);
            case ListValue l:
                foreach (var x in l.Items) { Step(); if (PyOps.Equals(x, item)) return true; }
                return false;
            case DictValue d:
                if (!PyOps.IsHashable(item)) throw Fail($"unhashable type: '{PyOps.TypeName(item)}'");
                return d.Map.ContainsKey(item);
            case GeneratorValue g:
                while (g.Position < g.Items.Count) { Step(); if (PyOps.Equals(g.Items[g.Position++], item)) return true; }
                return false;
            case UndefinedValue u:
                if (u.Unsafe) throw UndefinedUse(u);
                return false;
            case NamespaceValue or LoopValue:
                throw Fail($"argument of type '{PyOps.TypeName(container)}' is not iterable");
            default:
                throw Fail($"argument of type '{PyOps.TypeName(container)}' is not iterable");
        }
    }

    private Value EvalSlice(SliceExpr s, Scope scope)
    {
        var target = Eval(s.Target, scope);
        long? Bound(Expr? x)
        {
            if (x == null) return null;
            var v = Eval(x, scope);
            if (v is NoneValue) return null;
            return PyOps.AsInt(v) ?? throw Fail("slice indices must be integers or None");
        }
        var start = Bound(s.Start);
        var stop = Bound(s.Stop);
        var step = Bound(s.Step);
        _line = s.Line;
        switch (target)
        {
            case StrValue str:
                Step(str.S.Length / CharsPerStep);
                return StrValue.Of(PyText.Slice(str.S, start, stop, step));
            case ListValue l:
                var items = new List<Value>();
                foreach (var i in PyOps.SliceIndices(l.Items.Count, start, stop, step)) { Step(); items.Add(l.Items[i]); }
                return new ListValue(items, l.IsTuple);
            case UndefinedValue u:
                throw UndefinedUse(u);
            default:
                // Jinja2 turns a failed subscript into Undefined rather than an error.
                return new UndefinedValue($"'{PyOps.TypeName(target)} object' is not subscriptable");
        }
    }

    public CallArgs EvalArgs(ArgList a, Scope scope)
    {
        var pos = new List<Value>(a.Positional.Count);
        foreach (var x in a.Positional) pos.Add(Eval(x, scope));
        if (a.Star != null) pos.AddRange(Iterate(Eval(a.Star, scope)));
        var kw = new List<KeyValuePair<string, Value>>(a.Keywords.Count);
        foreach (var (n, x) in a.Keywords) kw.Add(new(n, Eval(x, scope)));
        if (a.StarStar != null)
        {
            if (Eval(a.StarStar, scope) is not DictValue d) throw Fail("argument after ** must be a mapping");
            foreach (var (k, v) in d.Map)
                kw.Add(new(k is StrValue ks ? ks.S : throw Fail("keywords must be strings"), v));
        }
        return new CallArgs(pos, kw);
    }

    private Value ApplyFilter(FilterExpr f, Value target, Scope scope)
    {
        var args = EvalArgs(f.Args, scope);
        _line = f.Line;
        return Filters.Apply(this, f.Name, target, args);
    }

    // ---- calls ----

    public Value CallValue(Value callee, CallArgs args)
    {
        switch (callee)
        {
            case CallableValue c: return c.Invoke(this, args);
            case MacroValue m: return CallMacro(m, args);
            case UndefinedValue u: throw UndefinedUse(u);
            default: throw Fail($"'{PyOps.TypeName(callee)}' object is not callable");
        }
    }

    private Value CallMacro(MacroValue m, CallArgs args)
    {
        var node = m.Node;
        if (++_macroDepth > _limits.MaxRecursionDepth)
            throw new TemplateLimitException(TemplateLimit.RecursionDepth, $"macro '{node.Name}' recursed deeper than {_limits.MaxRecursionDepth} calls", _line);
        try
        {
            var scope = new Scope(m.Closure);
            var ps = node.Params;
            if (args.Positional.Count > ps.Count && !node.UsesVarargs)
                throw Fail($"macro '{node.Name}' takes not more than {ps.Count} argument(s)");
            var given = new Value?[ps.Count];
            for (var i = 0; i < Math.Min(ps.Count, args.Positional.Count); i++) given[i] = args.Positional[i];
            var kwargs = new DictValue();
            Value? caller = null;
            foreach (var (k, v) in args.Keywords)
            {
                var idx = ps.FindIndex(p => p.Name == k);
                if (idx >= 0)
                {
                    if (given[idx] != null) throw Fail($"macro '{node.Name}' got multiple values for argument '{k}'");
                    given[idx] = v;
                }
                else if (k == "caller" && node.UsesCaller) caller = v;
                else if (node.UsesKwargs) kwargs.Set(k, v);
                else throw Fail($"macro '{node.Name}' takes no keyword argument '{k}'");
            }
            for (var i = 0; i < ps.Count; i++)
            {
                // Defaults are evaluated at call time, in the macro's scope, so they can see earlier parameters.
                var v = given[i] ?? (ps[i].Default != null ? Eval(ps[i].Default!, scope) : new UndefinedValue($"parameter '{ps[i].Name}' was not provided"));
                scope.Set(ps[i].Name, v);
            }
            if (node.UsesVarargs)
                scope.Set("varargs", new ListValue(args.Positional.Count > ps.Count ? args.Positional.GetRange(ps.Count, args.Positional.Count - ps.Count) : [], true));
            if (node.UsesKwargs) scope.Set("kwargs", kwargs);
            if (node.UsesCaller) scope.Set("caller", caller ?? new UndefinedValue("No caller defined"));
            var output = new Sink(this);
            ExecBody(node.Body, scope, output);
            return StrValue.Of(output.ToString());
        }
        finally
        {
            _macroDepth--;
        }
    }

    // ---- attribute and item access (Jinja2 sandbox rules) ----

    public Value GetAttr(Value obj, string name)
    {
        if (obj is UndefinedValue u) throw UndefinedUse(u);
        // Every Python object has dunder attributes; the sandbox refuses all names starting with '_'.
        if (name.StartsWith("__", StringComparison.Ordinal) && name.EndsWith("__", StringComparison.Ordinal) && name.Length > 4)
            return UnsafeAttr(obj, name);
        switch (obj)
        {
            case StrValue s:
                return Methods.ForStr(s, name) ?? NoAttr(obj, name);
            case DictValue d:
                if (Methods.IsUnsafeDictMethod(name)) return UnsafeAttr(obj, name);
                return Methods.ForDict(d, name) ?? d.Get(name) ?? NoAttr(obj, name);
            case ListValue l:
                if (!l.IsTuple && Methods.IsUnsafeListMethod(name)) return UnsafeAttr(obj, name);
                return Methods.ForList(l, name) ?? NoAttr(obj, name);
            case NamespaceValue ns:
                return ns.Attrs.TryGetValue(name, out var v) ? v : NoAttr(obj, name);
            case LoopValue loop:
                return LoopAttr(loop, name) ?? NoAttr(obj, name);
            default:
                return NoAttr(obj, name);
        }
    }

    public Value GetItem(Value obj, Value key)
    {
        if (obj is UndefinedValue u) throw UndefinedUse(u);
        switch (obj)
        {
            case DictValue d:
                if (PyOps.IsHashable(key) && d.Map.TryGetValue(key, out var v)) return v;
                break;
            case ListValue l when PyOps.AsInt(key) is { } i:
                var idx = i < 0 ? i + l.Items.Count : i;
                if (idx >= 0 && idx < l.Items.Count) return l.Items[(int)idx];
                return new UndefinedValue($"'{PyOps.TypeName(obj)} object' has no element {i}");
            case StrValue s when PyOps.AsInt(key) is { } i:
                var ch = PyText.At(s.S, i);
                return ch != null ? StrValue.Of(ch) : new UndefinedValue($"'str object' has no element {i}");
        }
        // Jinja2 falls back from obj[key] to getattr(obj, key) for string keys.
        if (key is StrValue ks) return GetAttr(obj, ks.S);
        return new UndefinedValue($"'{PyOps.TypeName(obj)} object' has no element {PyText.Repr(key)}");
    }

    private static UndefinedValue NoAttr(Value obj, string name) =>
        new(obj is NoneValue ? $"'None' has no attribute '{name}'" : $"'{PyOps.TypeName(obj)} object' has no attribute '{name}'");

    private static UndefinedValue UnsafeAttr(Value obj, string name) =>
        new($"access to attribute '{name}' of '{PyOps.TypeName(obj)}' object is unsafe.", unsafeAccess: true);

    private Value? LoopAttr(LoopValue loop, string name)
    {
        var n = loop.Items.Count;
        var i = loop.Index0;
        return name switch
        {
            "index" => IntValue.Of(i + 1),
            "index0" => IntValue.Of(i),
            "revindex" => IntValue.Of(n - i),
            "revindex0" => IntValue.Of(n - i - 1),
            "first" => BoolValue.Of(i == 0),
            "last" => BoolValue.Of(i == n - 1),
            "length" => IntValue.Of(n),
            "depth" => IntValue.Of(1),
            "depth0" => IntValue.Of(0),
            "previtem" => i > 0 ? loop.Items[i - 1] : new UndefinedValue("there is no previous item"),
            "nextitem" => i < n - 1 ? loop.Items[i + 1] : new UndefinedValue("there is no next item"),
            "cycle" => new CallableValue("loop.cycle", (_, a) =>
                a.Positional.Count == 0 ? throw Fail("no items for cycling given") : a.Positional[i % a.Positional.Count]),
            "changed" => new CallableValue("loop.changed", (_, a) =>
            {
                var cur = new ListValue(a.Positional, true);
                if (loop.LastChanged != null && PyOps.Equals(loop.LastChanged, cur)) return BoolValue.False;
                loop.LastChanged = cur;
                return BoolValue.True;
            }),
            _ => null,
        };
    }

    // ---- iteration ----

    /// <summary>The items a Python for-loop would see: list items, dict keys, str characters; Undefined is empty.</summary>
    public List<Value> Iterate(Value v)
    {
        switch (v)
        {
            case ListValue l: return l.Items;
            case DictValue d: return [.. d.Map.Keys];
            case StrValue s:
                Step(s.S.Length / CharsPerStep);
                return PyText.Chars(s.S);
            case GeneratorValue g: return g.Drain();
            case UndefinedValue u:
                if (u.Unsafe) throw UndefinedUse(u);
                return [];
            default:
                throw Fail($"'{PyOps.TypeName(v)}' object is not iterable");
        }
    }

    // ---- errors ----

    public TemplateRuntimeException Fail(string message) => new(message, _line);

    public static TemplateRuntimeException UndefinedUse(UndefinedValue u) =>
        u.Unsafe ? new TemplateSecurityException(u.Hint, 0) : new TemplateRuntimeException(u.Hint, 0);
}
