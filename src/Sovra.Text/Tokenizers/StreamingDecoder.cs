using System.Text;
using System.Text.Unicode;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// Turns ids into text as they are generated, never returning part of a character: bytes that begin a
/// UTF-8 sequence are held until it completes. A sequence that can no longer complete becomes U+FFFD, as
/// the whole-text <see cref="Tokenizer.Decode(ReadOnlySpan{int}, bool)"/> gives it. <see cref="Flush"/>
/// returns what is still held (as U+FFFD) at the end of a generation. Not thread-safe: one per stream.
/// </summary>
/// <remarks>
/// For byte-level tokenizers the concatenated output always equals <c>Decode</c> of all the ids. For
/// SentencePiece the same holds except for a &lt;0xNN&gt; run that is invalid UTF-8 only because of bytes that
/// arrive after a complete character was already returned: HF replaces every byte of such a run.
/// </remarks>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _skipSpecial;
    private readonly List<byte> _pending = new(8);
    private bool _atStart = true;

    internal StreamingDecoder(Tokenizer tokenizer, bool skipSpecial)
    {
        _tokenizer = tokenizer;
        _skipSpecial = skipSpecial;
    }

    /// <summary>Adds one id; returns the text it completes (often empty while a character is incomplete).</summary>
    public string Push(int id)
    {
        _tokenizer.Check(id);
        if (_skipSpecial && _tokenizer.IsSpecial(id)) return "";
        var sb = new StringBuilder();
        if (!_tokenizer.IsByteLevel && _tokenizer.ByteValueOf(id) < 0)
        {
            // A piece ends any pending byte run: whatever is left of it cannot complete.
            Drain(sb, final: true);
            sb.Append(Encoding.UTF8.GetString(_tokenizer.BytesOf(id)));
        }
        else
        {
            if (_tokenizer.IsByteLevel) _pending.AddRange(_tokenizer.BytesOf(id));
            else _pending.Add((byte)_tokenizer.ByteValueOf(id));
            Drain(sb, final: false);
        }
        return StripStart(sb);
    }

    /// <summary>Ends the stream: returns held bytes (as U+FFFD) and resets for a new stream.</summary>
    public string Flush()
    {
        var sb = new StringBuilder();
        Drain(sb, final: true);
        var s = StripStart(sb);
        _atStart = true;
        return s;
    }

    private string StripStart(StringBuilder sb)
    {
        if (_atStart && sb.Length > 0)
        {
            _atStart = false;
            if (_tokenizer.StripsLeadingSpace && sb[0] == ' ') sb.Remove(0, 1);
        }
        return sb.ToString();
    }

    private void Drain(StringBuilder sb, bool final)
    {
        if (_pending.Count == 0) return;
        var src = _pending.ToArray();
        if (final && !_tokenizer.IsByteLevel)
        {
            // HF's ByteFallback: a run that is not valid UTF-8 becomes one U+FFFD per byte.
            if (Utf8.IsValid(src)) sb.Append(Encoding.UTF8.GetString(src));
            else sb.Append('\uFFFD', src.Length);
            _pending.Clear();
            return;
        }
        var dst = new char[src.Length * 2];
        Utf8.ToUtf16(src, dst, out int read, out int written, replaceInvalidSequences: true, isFinalBlock: final);
        sb.Append(dst, 0, written);
        _pending.RemoveRange(0, read);
    }
}
