namespace Sovra.Text.Tokenizers;

/// <summary>
/// Finds added tokens in text as HF's AddedVocabulary does: leftmost match, longest at that position,
/// honouring lstrip / rstrip (the match swallows adjacent whitespace) and single_word.
/// Built for one of HF's two passes (tokens matched on the raw text, or on the normalized text).
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<long, int> _edges = new(); // (node << 16 | char) → child node
    private readonly List<int> _tokenAt = [-1];            // node → index into _tokens, or -1
    private readonly AddedToken[] _tokens;
    private readonly bool[] _firstChar = new bool[0x10000];

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _tokens = tokens.Where(t => t.Content.Length > 0).ToArray();
        for (int t = 0; t < _tokens.Length; t++)
        {
            int node = 0;
            foreach (char c in _tokens[t].Content)
            {
                long key = ((long)node << 16) | c;
                if (!_edges.TryGetValue(key, out int child))
                {
                    child = _tokenAt.Count;
                    _tokenAt.Add(-1);
                    _edges[key] = child;
                }
                node = child;
            }
            if (_tokenAt[node] < 0) _tokenAt[node] = t; // the first of duplicate contents wins
            _firstChar[_tokens[t].Content[0]] = true;
        }
    }

    public bool IsEmpty => _tokens.Length == 0;

    /// <summary>The next match at or after <paramref name="from"/>: the token and the span it covers
    /// (including whitespace it strips). Special tokens are skipped unless <paramref name="allowSpecial"/>.</summary>
    public bool Next(ReadOnlySpan<char> s, int from, bool allowSpecial, out AddedToken token, out int start, out int end)
    {
        for (int i = from; i < s.Length; i++)
        {
            if (!_firstChar[s[i]]) continue;
            int node = 0, best = -1, bestEnd = -1;
            for (int j = i; j < s.Length; j++)
            {
                if (!_edges.TryGetValue(((long)node << 16) | s[j], out node)) break;
                int t = _tokenAt[node];
                if (t >= 0 && (allowSpecial || !_tokens[t].Special)) { best = t; bestEnd = j + 1; }
            }
            if (best < 0) continue;
            var tok = _tokens[best];
            if (tok.SingleWord && (IsWordChar(s, i - 1) || IsWordChar(s, bestEnd))) continue;
            start = i;
            end = bestEnd;
            if (tok.LStrip) while (start > from && char.IsWhiteSpace(s[start - 1])) start--;
            if (tok.RStrip) while (end < s.Length && char.IsWhiteSpace(s[end])) end++;
            token = tok;
            return true;
        }
        token = null!;
        start = end = -1;
        return false;
    }

    private static bool IsWordChar(ReadOnlySpan<char> s, int i) =>
        i >= 0 && i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_');
}
