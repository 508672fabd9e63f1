namespace Sovra.Text.Templates;

/// <summary>
/// One level of variables. Jinja2 gives every for-loop iteration, macro call and call-block its own
/// level; if-blocks do not create one. Lookups fall through to the parent, assignments stay local.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private Dictionary<string, Value>? _vars;
    public readonly Scope? Parent = parent;

    public Value? Lookup(string name)
    {
        for (var s = this; s != null; s = s.Parent)
            if (s._vars != null && s._vars.TryGetValue(name, out var v)) return v;
        return null;
    }

    public void Set(string name, Value v) => (_vars ??= new Dictionary<string, Value>(StringComparer.Ordinal))[name] = v;
}
