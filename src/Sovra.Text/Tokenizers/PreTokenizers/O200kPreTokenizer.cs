using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers.PreTokenizers;

/// <summary>
/// gpt-oss / GPT-4o (o200k):
/// <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?</c>
/// <c>|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?</c>
/// <c>|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
/// </summary>
internal sealed class O200kPreTokenizer : PreTokenizer
{
    public override void Split(ReadOnlySpan<char> s, int offset, List<int> ends) => Drive(s, offset, ends, new Matcher());

    private readonly struct Matcher : IMatcher
    {
        public int Match(ReadOnlySpan<char> s, int i)
        {
            byte k = ClassAt(s, i, out int len);
            bool prefixable = (k & (CharClass.Letter | CharClass.Number)) == 0 && !IsCrLf(s, i);
            int e;
            if (prefixable && (e = Lower(s, i + len)) > 0) return e;
            if ((e = Lower(s, i)) > 0) return e;
            if (prefixable && (e = Upper(s, i + len)) > 0) return e;
            if ((e = Upper(s, i)) > 0) return e;
            if ((k & CharClass.Number) != 0) return Digits(s, i, 3);
            const byte notOther = CharClass.Space | CharClass.Letter | CharClass.Number;
            int j = s[i] == ' ' ? i + 1 : i;
            if (j < s.Length && (ClassAt(s, j, out _) & notOther) == 0)
            {
                e = RunNotOf(s, j, notOther);
                while (e < s.Length && s[e] is '\r' or '\n' or '/') e++;
                return e;
            }
            return Whitespace(s, i);
        }

        // [U]*[W]+(contraction)? from `start`; -1 when it cannot match. U* backtracks to the last W inside its run.
        private static int Lower(ReadOnlySpan<char> s, int start)
        {
            if (start >= s.Length) return -1;
            int i = start, lastW = -1, lastWEnd = -1;
            while (i < s.Length)
            {
                byte k = ClassAt(s, i, out int len);
                if ((k & CharClass.UpperLike) == 0) break;
                if ((k & CharClass.LowerLike) != 0) { lastW = i; lastWEnd = i + len; }
                i += len;
            }
            int end;
            if (i < s.Length && (ClassAt(s, i, out _) & CharClass.LowerLike) != 0) end = RunOf(s, i, CharClass.LowerLike);
            else if (lastW >= 0) end = lastWEnd;
            else return -1;
            return end + Contraction(s, end);
        }

        // [U]+[W]*(contraction)? from `start`.
        private static int Upper(ReadOnlySpan<char> s, int start)
        {
            if (start >= s.Length) return -1;
            int u = RunOf(s, start, CharClass.UpperLike);
            if (u == start) return -1;
            int end = RunOf(s, u, CharClass.LowerLike);
            return end + Contraction(s, end);
        }
    }
}
