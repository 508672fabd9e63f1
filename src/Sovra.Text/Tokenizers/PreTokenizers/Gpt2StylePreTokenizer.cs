using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers.PreTokenizers;

/// <summary>
/// Qwen2 (maxDigits 1) and Llama 3 (maxDigits 3):
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
/// </summary>
internal sealed class Gpt2StylePreTokenizer(int maxDigits) : PreTokenizer
{
    public override void Split(ReadOnlySpan<char> s, int offset, List<int> ends) => Drive(s, offset, ends, new Matcher(maxDigits));

    private readonly struct Matcher(int maxDigits) : IMatcher
    {
        public int Match(ReadOnlySpan<char> s, int i)
        {
            int c = Contraction(s, i);
            if (c > 0) return i + c;
            byte k = ClassAt(s, i, out int len);
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if ((k & CharClass.Letter) != 0) return RunOf(s, i, CharClass.Letter);
            if ((k & CharClass.Number) == 0 && !IsCrLf(s, i) && i + len < s.Length &&
                (ClassAt(s, i + len, out _) & CharClass.Letter) != 0)
                return RunOf(s, i + len, CharClass.Letter);
            // \p{N}{1,N}
            if ((k & CharClass.Number) != 0) return Digits(s, i, maxDigits);
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            const byte notOther = CharClass.Space | CharClass.Letter | CharClass.Number;
            int j = s[i] == ' ' ? i + 1 : i;
            if (j < s.Length && (ClassAt(s, j, out _) & notOther) == 0)
            {
                int e = RunNotOf(s, j, notOther);
                while (e < s.Length && s[e] is '\r' or '\n') e++;
                return e;
            }
            return Whitespace(s, i);
        }
    }
}
