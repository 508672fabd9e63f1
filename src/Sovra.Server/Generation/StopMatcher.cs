namespace Sovra.Server.Generation;

/// <summary>
/// Finds the request's stop strings in streamed text. Text that could be the start of a stop string is
/// held back until the next piece shows whether it is one, so a stop string is never streamed in part.
/// </summary>
public sealed class StopMatcher(IReadOnlyList<string> stops)
{
    private string _held = "";

    public bool Matched { get; private set; }

    /// <summary>Adds generated text; returns the text that is safe to emit now.</summary>
    public string Push(string text)
    {
        if (Matched) return "";
        if (stops.Count == 0) return text;
        var buffer = _held + text;
        var first = -1;
        foreach (var s in stops)
        {
            var i = buffer.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        if (first >= 0)
        {
            Matched = true;
            _held = "";
            return buffer[..first];
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        var hold = 0;
        foreach (var s in stops)
            for (var len = Math.Min(s.Length - 1, buffer.Length); len > hold; len--)
                if (buffer.AsSpan(buffer.Length - len).SequenceEqual(s.AsSpan(0, len))) { hold = len; break; }
        _held = buffer[(buffer.Length - hold)..];
        return buffer[..(buffer.Length - hold)];
    }

    /// <summary>The generation ended without a match: whatever was held back is real output.</summary>
    public string Flush()
    {
        var rest = Matched ? "" : _held;
        _held = "";
        return rest;
    }
}
