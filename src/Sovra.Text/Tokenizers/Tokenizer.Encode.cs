using System.Text;
using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers;

public sealed partial class Tokenizer
{
    /// <summary>
    /// Encodes text. With <paramref name="allowSpecial"/> false (the default, for untrusted input) the text of
    /// a special token such as "&lt;|im_start|&gt;" is encoded as ordinary text; with true it becomes the special
    /// token, as HF's <c>encode</c> does. Non-special added tokens (e.g. Qwen's "&lt;think&gt;") always match.
    /// <paramref name="addSpecialTokens"/> adds <see cref="PrefixIds"/> / <see cref="SuffixIds"/> (HF add_special_tokens).
    /// </summary>
    public int[] Encode(string text, bool allowSpecial = false, bool addSpecialTokens = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, allowSpecial, addSpecialTokens);
        return ids.ToArray();
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(string text, List<int> output, bool allowSpecial = false, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var st = _scratch.Value!;
        text = WithoutLoneSurrogates(text);
        if (addSpecialTokens) output.AddRange(_data.Prefix);
        int pos = 0;
        while (_rawAdded.Next(text, pos, allowSpecial, out var tok, out int start, out int end))
        {
            if (start > pos) EncodeSegment(st, text.AsSpan(pos, start - pos), allowSpecial, output);
            output.Add(tok.Id);
            pos = end;
        }
        if (pos < text.Length) EncodeSegment(st, text.AsSpan(pos), allowSpecial, output);
        if (addSpecialTokens) output.AddRange(_data.Suffix);
    }

    /// <summary>How many ids <see cref="Encode(string, bool, bool)"/> would return.</summary>
    public int CountTokens(string text, bool allowSpecial = false, bool addSpecialTokens = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, allowSpecial, addSpecialTokens);
        return ids.Count;
    }

    private static string WithoutLoneSurrogates(string s)
    {
        int i = 0;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            break;
        }
        if (i == s.Length) return s;
        var chars = s.ToCharArray();
        for (int j = i; j < chars.Length; j++)
        {
            char c = chars[j];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && j + 1 < chars.Length && char.IsLowSurrogate(chars[j + 1])) { j++; continue; }
            chars[j] = '\uFFFD';
        }
        return new string(chars);
    }

    // One stretch of text between raw-matched added tokens: normalize, match the normalized added tokens, split, BPE.
    private void EncodeSegment(Scratch st, ReadOnlySpan<char> segment, bool allowSpecial, List<int> output)
    {
        ReadOnlySpan<char> text = segment;
        if (_data.Nfc && !Nfc.IsQuickYes(segment)) text = Nfc.Normalize(segment.ToString()).AsSpan();
        if (!_byteLevel && (_data.ReplaceSpaces || _data.AddPrefixSpace))
        {
            int len = text.Length + (_data.AddPrefixSpace ? 1 : 0);
            if (st.Chars.Length < len) st.Chars = new char[Math.Max(len, st.Chars.Length * 2)];
            var buf = st.Chars.AsSpan(0, len);
            int o = 0;
            if (_data.AddPrefixSpace && text.Length > 0) buf[o++] = '▁';
            foreach (char c in text) buf[o++] = _data.ReplaceSpaces && c == ' ' ? '▁' : c;
            text = buf[..o];
        }
        if (_normalizedAdded.IsEmpty)
        {
            EncodeWords(st, text, output);
            return;
        }
        // (EncodeWords does not touch the scratch characters that `text` may live in.)
        int pos = 0;
        while (_normalizedAdded.Next(text, pos, allowSpecial, out var tok, out int start, out int end))
        {
            if (start > pos) EncodeWords(st, text[pos..start], output);
            output.Add(tok.Id);
            pos = end;
        }
        if (pos < text.Length) EncodeWords(st, text[pos..], output);
    }

    private void EncodeWords(Scratch st, ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        if (_pre == null)
        {
            EncodeWord(st, text, output);
            return;
        }
        var ends = st.Ends;
        ends.Clear();
        _pre.Split(text, 0, ends);
        int start = 0;
        foreach (int end in ends)
        {
            EncodeWord(st, text[start..end], output);
            start = end;
        }
    }

    private void EncodeWord(Scratch st, ReadOnlySpan<char> word, List<int> output)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(word.Length);
        if (st.Bytes.Length < maxBytes) st.Bytes = new byte[Math.Max(maxBytes, st.Bytes.Length * 2)];
        int nb = Encoding.UTF8.GetBytes(word, st.Bytes);
        var bytes = st.Bytes.AsSpan(0, nb);
        if (_byteLevel) EncodeByteLevelWord(st, bytes, output);
        else EncodeSentencePieceWord(st, word, bytes, output);
    }

    private void EncodeByteLevelWord(Scratch st, ReadOnlySpan<byte> bytes, List<int> output)
    {
        bool cacheable = bytes.Length <= CacheMaxWordBytes;
        if (cacheable && st.Cache.TryGet(bytes, out int at))
        {
            int count = st.CacheIds[at];
            for (int k = 1; k <= count; k++) output.Add(st.CacheIds[at + k]);
            return;
        }
        int first = output.Count;
        if (_data.IgnoreMerges && _vocab.TryGet(bytes, out int whole))
            output.Add(whole);
        else
        {
            if (st.Symbols.Length < bytes.Length) st.Symbols = new int[Math.Max(bytes.Length, st.Symbols.Length * 2)];
            var sym = st.Symbols.AsSpan(0, bytes.Length);
            for (int i = 0; i < bytes.Length; i++) sym[i] = _byteIds[bytes[i]];
            int n = st.Merger.Merge(_merges, sym);
            for (int i = 0; i < n; i++) output.Add(sym[i]);
        }
        if (cacheable) Remember(st, bytes, output, first);
    }

    private static void Remember(Scratch st, ReadOnlySpan<byte> bytes, List<int> output, int first)
    {
        if (st.Cache.Count >= CacheMaxEntries)
        {
            st.Cache.Clear();
            st.CacheIds.Clear();
        }
        int at = st.CacheIds.Count;
        st.CacheIds.Add(output.Count - first);
        for (int k = first; k < output.Count; k++) st.CacheIds.Add(output[k]);
        st.Cache.TryAdd(bytes, at);
    }

    // SentencePiece: characters are the initial symbols; a character missing from the vocabulary becomes its
    // bytes as <0xNN> tokens (byte fallback) or the unknown token (consecutive ones fused when asked).
    private void EncodeSentencePieceWord(Scratch st, ReadOnlySpan<char> word, ReadOnlySpan<byte> bytes, List<int> output)
    {
        if (_data.IgnoreMerges && _vocab.TryGet(bytes, out int whole))
        {
            output.Add(whole);
            return;
        }
        if (st.Symbols.Length < bytes.Length) st.Symbols = new int[Math.Max(bytes.Length, st.Symbols.Length * 2)];
        var sym = st.Symbols.AsSpan(0, bytes.Length);
        int n = 0, b = 0;
        bool lastUnknown = false;
        for (int i = 0; i < word.Length;)
        {
            CharClass.CodePointAt(word, i, out int len);
            i += len;
            int cpBytes = Utf8Length(bytes[b]);
            var ch = bytes.Slice(b, cpBytes);
            b += cpBytes;
            if (_vocab.TryGet(ch, out int id))
            {
                sym[n++] = id;
                lastUnknown = false;
            }
            else if (_data.ByteFallback)
            {
                foreach (byte x in ch) sym[n++] = _byteIds[x];
                lastUnknown = false;
            }
            else
            {
                int unk = _data.UnknownId ?? throw new TokenizerException(
                    $"{_data.Source}: character U+{CharClass.CodePointAt(word, i - len, out _):X4} is not in the vocabulary and there is no unknown token");
                if (!(lastUnknown && _data.FuseUnknown)) sym[n++] = unk;
                lastUnknown = true;
            }
        }
        n = st.Merger.Merge(_merges, sym[..n]);
        for (int i = 0; i < n; i++) output.Add(sym[i]);
    }

    private static int Utf8Length(byte lead) => lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
