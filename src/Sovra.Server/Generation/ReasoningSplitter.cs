namespace Sovra.Server.Generation;

/// <summary>
/// Separates a reasoning model's thinking from its answer in streamed text: what lies between
/// &lt;think&gt; and &lt;/think&gt; goes to reasoning_content, the rest to content (as DeepSeek's and vLLM's
/// APIs return it). Qwen3 models open the tag themselves; DeepSeek-R1 templates put it at the end of the
/// prompt, so the output starts inside it (<paramref name="startsInside"/>). Tags split across pieces are
/// held back until complete.
/// </summary>
public sealed class ReasoningSplitter(bool startsInside, string open = "<think>", string close = "</think>")
{
    private enum State { Start, Thinking, Answer }

    private State _state = startsInside ? State.Thinking : State.Start;
    private string _held = "";
    private bool _trimAnswerStart;
    private bool _trimReasoningStart;

    public readonly record struct Piece(string Reasoning, string Content);

    public Piece Push(string text)
    {
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        var buffer = _held + text;
        _held = "";
        while (buffer.Length > 0)
        {
            switch (_state)
            {
                case State.Start:
                {
                    var trimmed = buffer.TrimStart();
                    if (trimmed.Length == 0) { _held = buffer; return Done(); }
                    if (trimmed.StartsWith(open, StringComparison.Ordinal))
                    {
                        _state = State.Thinking;
                        _trimReasoningStart = true;
                        buffer = trimmed[open.Length..];
                    }
                    else if (open.StartsWith(trimmed, StringComparison.Ordinal)) { _held = buffer; return Done(); }
                    else _state = State.Answer;
                    break;
                }
                case State.Thinking:
                {
                    if (_trimReasoningStart)
                    {
                        buffer = buffer.TrimStart('\n');
                        if (buffer.Length == 0) return Done();
                        _trimReasoningStart = false;
                    }
                    var i = buffer.IndexOf(close, StringComparison.Ordinal);
                    if (i >= 0)
                    {
                        reasoning.Append(buffer.AsSpan(0, i));
                        buffer = buffer[(i + close.Length)..];
                        _state = State.Answer;
                        _trimAnswerStart = true;
                        break;
                    }
                    var hold = PartialSuffix(buffer, close);
                    reasoning.Append(buffer.AsSpan(0, buffer.Length - hold));
                    _held = buffer[(buffer.Length - hold)..];
                    return Done();
                }
                case State.Answer:
                {
                    if (_trimAnswerStart)
                    {
                        buffer = buffer.TrimStart('\n');
                        if (buffer.Length == 0) return Done();
                        _trimAnswerStart = false;
                    }
                    content.Append(buffer);
                    buffer = "";
                    break;
                }
            }
        }
        return Done();

        Piece Done() => new(reasoning.ToString(), content.ToString());
    }

    public Piece Flush()
    {
        var rest = _held;
        _held = "";
        return _state == State.Thinking ? new Piece(rest, "") : new Piece("", _trimAnswerStart ? rest.TrimStart('\n') : rest);
    }

    private static int PartialSuffix(string buffer, string tag)
    {
        for (var len = Math.Min(tag.Length - 1, buffer.Length); len > 0; len--)
            if (buffer.AsSpan(buffer.Length - len).SequenceEqual(tag.AsSpan(0, len))) return len;
        return 0;
    }
}
