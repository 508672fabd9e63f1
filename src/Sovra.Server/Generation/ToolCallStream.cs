using System.Text;
using System.Text.Json;

namespace Sovra.Server.Generation;

/// <summary>A call the model asked for; <see cref="Arguments"/> is the JSON text OpenAI clients parse themselves.</summary>
public sealed record ToolCall(int Index, string Id, string Name, string Arguments);

/// <summary>
/// Splits generated answer text into plain content and Qwen3 / Hermes tool calls
/// (<c>&lt;tool_call&gt;{"name": …, "arguments": {…}}&lt;/tool_call&gt;</c>), as the text streams in. Text that may
/// still become an opening tag is held back; a block whose body is not a call object goes out as content, tags
/// and all, so nothing the model wrote is lost. Whitespace between calls is dropped once a call has been seen.
/// </summary>
public sealed class ToolCallStream
{
    private const string Open = "<tool_call>";
    private const string Close = "</tool_call>";

    private readonly StringBuilder _pending = new(); // outside: a possible start of Open; inside: the block so far
    private readonly StringBuilder _space = new();   // whitespace held until something follows it
    private readonly List<ToolCall> _calls = [];
    private bool _inside;
    private bool _afterCall;

    public IReadOnlyList<ToolCall> Calls => _calls;

    /// <summary>Takes the next piece of answer text; returns the content that is now certain and any calls completed.</summary>
    public (string Content, IReadOnlyList<ToolCall> Calls) Push(string text)
    {
        if (text.Length == 0) return ("", []);
        _pending.Append(text);
        var content = new StringBuilder();
        var first = _calls.Count;
        while (true)
        {
            var s = _pending.ToString();
            if (_inside)
            {
                var end = s.IndexOf(Close, StringComparison.Ordinal);
                if (end < 0) break;
                var body = s[..end];
                _pending.Remove(0, end + Close.Length);
                _inside = false;
                if (TryParse(body, _calls.Count) is { } call)
                {
                    _space.Clear(); // whitespace before a call is layout, not content
                    _calls.Add(call);
                    _afterCall = true;
                }
                else Emit(content, Open + body + Close);
                continue;
            }
            var open = s.IndexOf(Open, StringComparison.Ordinal);
            if (open >= 0)
            {
                Emit(content, s[..open]);
                _pending.Remove(0, open + Open.Length);
                _inside = true;
                continue;
            }
            var keep = PartialOpen(s);
            Emit(content, s[..(s.Length - keep)]);
            _pending.Remove(0, s.Length - keep);
            break;
        }
        return (content.ToString(), first == _calls.Count ? [] : _calls.GetRange(first, _calls.Count - first));
    }

    /// <summary>The end of the answer: an unfinished block or a held partial tag goes out as content.</summary>
    public string Flush()
    {
        var rest = (_inside ? Open : "") + _pending;
        _pending.Clear();
        _inside = false;
        var content = new StringBuilder();
        Emit(content, rest);
        if (_calls.Count == 0) content.Append(_space);
        _space.Clear();
        return content.ToString();
    }

    private void Emit(StringBuilder content, string text)
    {
        if (text.Length == 0) return;
        if (string.IsNullOrWhiteSpace(text))
        {
            _space.Append(text);
            return;
        }
        if (_afterCall) text = text.TrimStart(); // the layout after a call is not content
        else content.Append(_space);
        _space.Clear();
        _afterCall = false;
        content.Append(text);
    }

    /// <summary>How many trailing characters of <paramref name="s"/> could begin <see cref="Open"/>.</summary>
    private static int PartialOpen(string s)
    {
        for (var k = Math.Min(Open.Length - 1, s.Length); k > 0; k--)
            if (string.CompareOrdinal(s, s.Length - k, Open, 0, k) == 0) return k;
        return 0;
    }

    /// <summary>A call object {"name": "…", "arguments": {…} or "…"}, or null when the body is anything else.</summary>
    public static ToolCall? TryParse(string body, int index)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body.Trim()); }
        catch (JsonException) { return null; }
        using (doc)
        {
            var o = doc.RootElement;
            if (o.ValueKind != JsonValueKind.Object) return null;
            if (!o.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() is not { Length: > 0 } n) return null;
            string arguments;
            if (!o.TryGetProperty("arguments", out var a) || a.ValueKind == JsonValueKind.Null) arguments = "{}";
            else if (a.ValueKind == JsonValueKind.String) arguments = a.GetString()!;
            else if (a.ValueKind == JsonValueKind.Object) arguments = JsonSerializer.Serialize(a);
            else return null;
            return new ToolCall(index, "call_" + Guid.NewGuid().ToString("N")[..24], n, arguments);
        }
    }
}
