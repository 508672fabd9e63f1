using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers.PreTokenizers;

/// <summary>
/// DeepSeek-V3: three Split(Isolated) stages in sequence, each working inside the words of the one before
/// (so a lookahead never sees past a word's end): <c>\p{N}{1,3}</c>; <c>[一-龥぀-ゟ゠-ヿ]+</c>; then
/// <c>[!"#$%&amp;'()*+,\-./:;&lt;=&gt;?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
internal sealed class DeepSeekV3PreTokenizer : PreTokenizer
{
    public override void Split(ReadOnlySpan<char> s, int offset, List<int> ends)
    {
        // Stage 1: digit groups and the gaps between them.
        int i = 0;
        while (i < s.Length)
        {
            int e = Digits(s, i, 3);
            if (e > i) { ends.Add(offset + e); i = e; continue; }
            int g = i;
            while (g < s.Length && (ClassAt(s, g, out int len) & CharClass.Number) == 0) g += len;
            SplitCjk(s[i..g], offset + i, ends);
            i = g;
        }
    }

    private static bool IsCjk(char c) => c is (>= '\u4E00' and <= '\u9FA5') or (>= '\u3040' and <= '\u30FF');

    // Stage 2: runs of the listed CJK / kana characters, and the gaps between them.
    private static void SplitCjk(ReadOnlySpan<char> s, int offset, List<int> ends)
    {
        int i = 0;
        while (i < s.Length)
        {
            int e = i;
            while (e < s.Length && IsCjk(s[e])) e++;
            if (e > i) { ends.Add(offset + e); i = e; continue; }
            while (e < s.Length && !IsCjk(s[e])) e++;
            Drive(s[i..e], offset + i, ends, new Words());
            i = e;
        }
    }

    private static bool IsAsciiPunct(char c) => c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~');

    private static bool IsAsciiLetter(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z');

    private readonly struct Words : IMatcher
    {
        public int Match(ReadOnlySpan<char> s, int i)
        {
            // [ASCII punctuation][A-Za-z]+
            if (IsAsciiPunct(s[i]) && i + 1 < s.Length && IsAsciiLetter(s[i + 1]))
            {
                int e = i + 1;
                while (e < s.Length && IsAsciiLetter(s[e])) e++;
                return e;
            }
            // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
            const byte lm = CharClass.Letter | CharClass.Mark;
            const byte lps = CharClass.Letter | CharClass.Punct | CharClass.Symbol;
            byte k = ClassAt(s, i, out int len);
            if ((k & lps) == 0 && !IsCrLf(s, i) && i + len < s.Length && (ClassAt(s, i + len, out _) & lm) != 0)
                return RunOf(s, i + len, lm);
            if ((k & lm) != 0) return RunOf(s, i, lm);
            // ' ?[\p{P}\p{S}]+[\r\n]*'
            const byte ps = CharClass.Punct | CharClass.Symbol;
            int j = s[i] == ' ' ? i + 1 : i;
            if (j < s.Length && (ClassAt(s, j, out _) & ps) != 0)
            {
                int e = RunOf(s, j, ps);
                while (e < s.Length && s[e] is '\r' or '\n') e++;
                return e;
            }
            return Whitespace(s, i);
        }
    }
}
