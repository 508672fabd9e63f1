using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers.PreTokenizers;

/// <summary>
/// Cuts a segment of text into words, exactly as a Hugging Face Split(regex, Isolated) pre-tokenizer does
/// with the pattern named by <see cref="PreTokenizerKind"/>. Each pattern is a hand-written scanner that
/// follows the backtracking regex's choice at every position; the parity tests hold it to the reference.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>Appends, for each word of <paramref name="s"/>, its end offset plus <paramref name="offset"/>.</summary>
    public abstract void Split(ReadOnlySpan<char> s, int offset, List<int> ends);

    public static PreTokenizer? For(PreTokenizerKind kind) => kind switch
    {
        PreTokenizerKind.None => null,
        PreTokenizerKind.Qwen2 => new Gpt2StylePreTokenizer(maxDigits: 1),
        PreTokenizerKind.Llama3 => new Gpt2StylePreTokenizer(maxDigits: 3),
        PreTokenizerKind.O200k => new O200kPreTokenizer(),
        PreTokenizerKind.DeepSeekV3 => new DeepSeekV3PreTokenizer(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>A regex's find-all with Isolated behaviour: every match is a word, and so is every run of
    /// text where no match starts.</summary>
    protected static void Drive<TMatch>(ReadOnlySpan<char> s, int offset, List<int> ends, in TMatch m) where TMatch : struct, IMatcher
    {
        int gap = -1;
        for (int i = 0; i < s.Length;)
        {
            int e = m.Match(s, i);
            if (e > i)
            {
                if (gap >= 0) { ends.Add(offset + i); gap = -1; }
                ends.Add(offset + e);
                i = e;
            }
            else
            {
                if (gap < 0) gap = i;
                CharClass.CodePointAt(s, i, out int len);
                i += len;
            }
        }
        if (gap >= 0) ends.Add(offset + s.Length);
    }

    protected interface IMatcher
    {
        /// <summary>End of the match starting at <paramref name="i"/>, or -1.</summary>
        int Match(ReadOnlySpan<char> s, int i);
    }

    protected static byte ClassAt(ReadOnlySpan<char> s, int i, out int len) => CharClass.Of(CharClass.CodePointAt(s, i, out len));

    /// <summary>End of the run of code points from <paramref name="i"/> whose class has any of <paramref name="flags"/>.</summary>
    protected static int RunOf(ReadOnlySpan<char> s, int i, byte flags)
    {
        while (i < s.Length)
        {
            if ((ClassAt(s, i, out int len) & flags) == 0) break;
            i += len;
        }
        return i;
    }

    /// <summary>End of the run of code points from <paramref name="i"/> whose class has none of <paramref name="flags"/>.</summary>
    protected static int RunNotOf(ReadOnlySpan<char> s, int i, byte flags)
    {
        while (i < s.Length)
        {
            if ((ClassAt(s, i, out int len) & flags) != 0) break;
            i += len;
        }
        return i;
    }

    /// <summary>Up to <paramref name="max"/> code points of class \p{N} from <paramref name="i"/>.</summary>
    protected static int Digits(ReadOnlySpan<char> s, int i, int max)
    {
        for (int k = 0; k < max && i < s.Length; k++)
        {
            if ((ClassAt(s, i, out int len) & CharClass.Number) == 0) break;
            i += len;
        }
        return i;
    }

    /// <summary>Length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at <paramref name="i"/>, or 0. Case folding maps
    /// S and U+017F (long s) to s; no other character folds to these letters.</summary>
    protected static int Contraction(ReadOnlySpan<char> s, int i)
    {
        if (i + 1 >= s.Length || s[i] != '\'') return 0;
        char a = Fold(s[i + 1]);
        if (a is 's' or 't' or 'm' or 'd') return 2;
        if (i + 2 >= s.Length) return 0;
        char b = Fold(s[i + 2]);
        return (a, b) switch { ('r', 'e') or ('v', 'e') or ('l', 'l') => 3, _ => 0 };
    }

    private static char Fold(char c) => c == '\u017F' ? 's' : c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;

    /// <summary>The three whitespace alternatives shared by every pattern, at a whitespace character:
    /// \s*[\r\n]+ | \s+(?!\S) | \s+ .</summary>
    protected static int Whitespace(ReadOnlySpan<char> s, int i)
    {
        int end = RunOf(s, i, CharClass.Space);
        if (end == i) return -1;
        // \s*[\r\n]+: up to and including the last line break of the run. (Every White_Space character is in the BMP.)
        for (int k = end - 1; k >= i; k--)
            if (s[k] is '\r' or '\n') return k + 1;
        // \s+(?!\S): the run, less its last character when a non-space follows.
        if (end == s.Length) return end;
        if (end - i >= 2) return end - 1;
        return end;
    }

    protected static bool IsCrLf(ReadOnlySpan<char> s, int i) => s[i] is '\r' or '\n';
}
