using System.Text;

namespace Sovra.Text.Tokenizers;

public sealed partial class Tokenizer
{
    /// <summary>
    /// Decodes ids to text as HF's <c>decode</c> does: byte-level tokens give their bytes, read as UTF-8 with
    /// each invalid sequence replaced by U+FFFD; SentencePiece pieces give their text with ▁ as a space, and a
    /// run of &lt;0xNN&gt; tokens gives its bytes when they are valid UTF-8, else one U+FFFD per byte.
    /// </summary>
    /// <exception cref="TokenizerException">An id is outside the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        var sb = new StringBuilder(ids.Length * 4);
        int runStart = -1; // SentencePiece: start in `bytes` of the pending <0xNN> run
        foreach (int id in ids)
        {
            Check(id);
            if (skipSpecial && _types[id] == TokenType.Control) continue;
            if (_byteLevel)
            {
                bytes.AddRange(_decodeBytes[id]);
                continue;
            }
            if (_byteValue[id] >= 0)
            {
                if (runStart < 0) runStart = bytes.Count;
                bytes.Add((byte)_byteValue[id]);
                continue;
            }
            FlushByteRun(bytes, sb, ref runStart);
            sb.Append(Encoding.UTF8.GetString(_decodeBytes[id]));
        }
        if (_byteLevel) return Encoding.UTF8.GetString(bytes.ToArray());
        FlushByteRun(bytes, sb, ref runStart);
        if (_data.DecodeStripsLeadingSpace && sb.Length > 0 && sb[0] == ' ') sb.Remove(0, 1);
        return sb.ToString();
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecial = false) => Decode(ids.ToArray(), skipSpecial);

    /// <summary>A decoder for ids that arrive one at a time (generation): it only ever returns whole characters.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecial = false) => new(this, skipSpecial);

    internal void Check(int id)
    {
        if (id < 0 || id >= _vocabSize)
            throw new TokenizerException($"token id {id} is outside the vocabulary of {_vocabSize}");
    }

    internal bool IsByteLevel => _byteLevel;
    internal bool StripsLeadingSpace => _data.DecodeStripsLeadingSpace;
    internal ReadOnlySpan<byte> BytesOf(int id) => _decodeBytes[id];
    internal int ByteValueOf(int id) => _byteValue[id];

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    internal static void FlushByteRun(List<byte> bytes, StringBuilder sb, ref int runStart)
    {
        if (runStart < 0) return;
        var run = bytes.GetRange(runStart, bytes.Count - runStart).ToArray();
        try { sb.Append(StrictUtf8.GetString(run)); }
        catch (DecoderFallbackException) { sb.Append('\uFFFD', run.Length); }
        bytes.RemoveRange(runStart, bytes.Count - runStart);
        runStart = -1;
    }
}
