namespace Sovra.Text.Templates;

/// <summary>
/// The closed set of values a template can hold. There is deliberately no wrapper around arbitrary .NET
/// objects: a template can only ever see these types, so attribute access cannot reach the runtime.
/// </summary>
internal enum ValueKind { None, Bool, Int, Float, Str, List, Dict, Undefined, Macro, Namespace, Callable, Loop, Generator }

internal abstract class Value
{
    public abstract ValueKind Kind { get; }
    public override string ToString() => PyText.Str(this);
}

internal sealed class NoneValue : Value
{
    public static readonly NoneValue Instance = new();
    private NoneValue() { }
    public override ValueKind Kind => ValueKind.None;
}

internal sealed class BoolValue : Value
{
    public static readonly BoolValue True = new(true), False = new(false);
    public readonly bool V;
    private BoolValue(bool v) => V = v;
    public static BoolValue Of(bool b) => b ? True : False;
    public override ValueKind Kind => ValueKind.Bool;
}

internal sealed class IntValue(long v) : Value
{
    private static readonly IntValue[] Small = Enumerable.Range(-16, 300).Select(i => new IntValue(i)).ToArray();
    public readonly long V = v;
    public static IntValue Of(long v) => v >= -16 && v < 284 ? Small[v + 16] : new IntValue(v);
    public override ValueKind Kind => ValueKind.Int;
}

internal sealed class FloatValue(double v) : Value
{
    public readonly double V = v;
    public override ValueKind Kind => ValueKind.Float;
}

/// <summary>
/// A Python str. <see cref="Safe"/> marks markupsafe's Markup (made by the safe and escape filters):
/// without autoescaping it prints the same, but plain strings added to it are HTML-escaped, as in Jinja2.
/// </summary>
internal sealed class StrValue(string s, bool safe = false) : Value
{
    public static readonly StrValue Empty = new("");
    public readonly string S = s;
    public readonly bool Safe = safe;
    public static StrValue Of(string s) => s.Length == 0 ? Empty : new StrValue(s);
    public static StrValue Markup(string s) => new(s, true);
    public override ValueKind Kind => ValueKind.Str;
}

/// <summary>A Python list or tuple; never mutated after it is built (the sandbox is immutable).</summary>
internal sealed class ListValue(List<Value> items, bool isTuple = false) : Value
{
    public static readonly ListValue EmptyList = new([]);
    public readonly List<Value> Items = items;
    public readonly bool IsTuple = isTuple;
    public override ValueKind Kind => ValueKind.List;
}

/// <summary>A Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
internal sealed class DictValue : Value
{
    public readonly OrderedDictionary<Value, Value> Map;
    public DictValue() => Map = new OrderedDictionary<Value, Value>(PyEquality.Instance);
    public DictValue(int capacity) => Map = new OrderedDictionary<Value, Value>(capacity, PyEquality.Instance);
    public override ValueKind Kind => ValueKind.Dict;

    public void Set(string key, Value v) => Map[StrValue.Of(key)] = v;
    public Value? Get(string key) => Map.TryGetValue(new StrValue(key), out var v) ? v : null;
}

/// <summary>
/// Jinja's default <c>Undefined</c>: prints as empty, is falsy, iterates as empty; any attribute, item,
/// arithmetic or call on it fails. When <see cref="Unsafe"/> is set it stands for an attribute the
/// sandbox refused, and using it is a security error (as Jinja2's <c>unsafe_undefined</c>).
/// </summary>
internal sealed class UndefinedValue(string hint, bool unsafeAccess = false) : Value
{
    public static readonly UndefinedValue Plain = new("value is undefined");
    public readonly string Hint = hint;
    public readonly bool Unsafe = unsafeAccess;
    public override ValueKind Kind => ValueKind.Undefined;
}

internal sealed class NamespaceValue : Value
{
    public readonly OrderedDictionary<string, Value> Attrs = new(StringComparer.Ordinal);
    public override ValueKind Kind => ValueKind.Namespace;
}

/// <summary>Positional and keyword arguments of one call, already evaluated.</summary>
internal sealed class CallArgs(List<Value> positional, List<KeyValuePair<string, Value>> keywords)
{
    public static readonly CallArgs None = new([], []);
    public readonly List<Value> Positional = positional;
    public readonly List<KeyValuePair<string, Value>> Keywords = keywords;
}

/// <summary>A built-in function or a bound method of a value (str.strip, dict.get...), implemented by Sovra itself.</summary>
internal sealed class CallableValue(string name, Func<Interpreter, CallArgs, Value> invoke) : Value
{
    public readonly string Name = name;
    public readonly Func<Interpreter, CallArgs, Value> Invoke = invoke;
    public override ValueKind Kind => ValueKind.Callable;
}

internal sealed class MacroValue(MacroNode node, Scope closure) : Value
{
    public readonly MacroNode Node = node;
    public readonly Scope Closure = closure;
    public override ValueKind Kind => ValueKind.Macro;
}

/// <summary>The <c>loop</c> variable inside a for-loop.</summary>
internal sealed class LoopValue(List<Value> items) : Value
{
    public readonly List<Value> Items = items;
    public int Index0;
    public Value? LastChanged;
    public override ValueKind Kind => ValueKind.Loop;
}

/// <summary>
/// What select / reject / selectattr / rejectattr / map / unique return in Jinja2: a one-shot Python
/// generator. It is always truthy, has no length, and is exhausted once iterated.
/// </summary>
internal sealed class GeneratorValue(List<Value> items) : Value
{
    public readonly List<Value> Items = items;
    public int Position;
    public override ValueKind Kind => ValueKind.Generator;

    public List<Value> Drain()
    {
        var rest = Position == 0 ? Items : Items.GetRange(Position, Items.Count - Position);
        Position = Items.Count;
        return rest;
    }
}
