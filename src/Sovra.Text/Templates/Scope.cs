namespace Sovra.Text.Templates;

/// <summary>
/// One level of variables. Jinja2 gives every for-loop iteration, macro call and call-block its own
/// level; if-blocks do not create one. Lookups fall through to the parent, assignments stay local.
/// Levels hold a handful of names, so a small array searched linearly beats a hash table here
/// (one is made per loop iteration).
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private string[]? _names;
    private Value[]? _values;
    private int _count;
    public readonly Scope? Parent = parent;

    public Value? Lookup(string name)
    {
        for (var s = this; s != null; s = s.Parent)
        {
            var names = s._names;
            for (var i = 0; i < s._count; i++)
                if (ReferenceEquals(names![i], name) || names[i] == name) return s._values![i];
        }
        return null;
    }

    public void Set(string name, Value v)
    {
        for (var i = 0; i < _count; i++)
            if (_names![i] == name) { _values![i] = v; return; }
        if (_names == null) { _names = new string[4]; _values = new Value[4]; }
        else if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
        }
        _names[_count] = name;
        _values![_count++] = v;
    }
}
