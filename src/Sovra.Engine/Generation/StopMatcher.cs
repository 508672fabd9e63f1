namespace Sovra.Engine.Generation;

/// <summary>
/// Finds stop strings across token boundaries: text that could still become the start of a stop string is
/// held back until it is either a stop (dropped, generation ends) or cannot be one (released).
/// </summary>
public sealed class StopMatcher(IReadOnlyList<string> stops)
{
    private string _pending = "";

    /// <summary>Adds text; returns what is now safe to emit and whether a stop string was reached.</summary>
    public (string Emit, bool Stopped) Add(string text)
    {
        if (stops.Count == 0) return (text, false);
        _pending += text;
        var first = -1;
        foreach (var s in stops)
        {
            if (s.Length == 0) continue;
            var i = _pending.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        if (first >= 0)
        {
            var emit = _pending[..first];
            _pending = "";
            return (emit, true);
        }
        var keep = HeldSuffix();
        var release = _pending[..(_pending.Length - keep)];
        _pending = _pending[(_pending.Length - keep)..];
        return (release, false);
    }

    /// <summary>Held text, released at the end of generation.</summary>
    public string Flush()
    {
        var p = _pending;
        _pending = "";
        return p;
    }

    private int HeldSuffix()
    {
        // Longest suffix of pending that is a proper prefix of some stop string.
        for (var len = Math.Min(_pending.Length, stops.Max(s => s.Length) - 1); len > 0; len--)
        {
            var suffix = _pending.AsSpan(_pending.Length - len);
            foreach (var s in stops)
                if (s.Length > len && s.AsSpan().StartsWith(suffix, StringComparison.Ordinal)) return len;
        }
        return 0;
    }
}
