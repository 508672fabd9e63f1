using System.Text;

namespace Sovra.Server.Generation;

/// <summary>
/// Turns the bytes of generated tokens into text as they arrive, holding back the bytes of a character
/// that is split across tokens until it is complete, so every streamed event is valid UTF-8. At the end,
/// bytes of an unfinished character become U+FFFD.
/// </summary>
public sealed class Utf8StreamDecoder
{
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private char[] _chars = new char[64];

    public string Append(ReadOnlySpan<byte> bytes)
    {
        var need = _decoder.GetCharCount(bytes, flush: false);
        if (_chars.Length < need) _chars = new char[Math.Max(need, _chars.Length * 2)];
        var n = _decoder.GetChars(bytes, _chars, flush: false);
        return new string(_chars, 0, n);
    }

    public string Flush()
    {
        var n = _decoder.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        return new string(_chars, 0, n);
    }
}
