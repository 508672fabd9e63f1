using System.Globalization;

namespace Sovra.Text.Tokenizers.Unicode;

/// <summary>
/// The Unicode classes the pre-tokenizer patterns test (\p{L}, \p{N}, \p{M}, \p{P}, \p{S}, \s and the
/// o200k letter-case groups), as bit flags. BMP code points come from a table built once; the rest are
/// classified on demand. \s is the Unicode White_Space property, as Oniguruma (HF's regex engine) defines it.
/// </summary>
internal static class CharClass
{
    public const byte Letter = 1, Number = 2, Mark = 4, Punct = 8, Symbol = 16, Space = 32;
    /// <summary>o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}].</summary>
    public const byte UpperLike = 64;
    /// <summary>o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}].</summary>
    public const byte LowerLike = 128;

    private static readonly byte[] Bmp = BuildBmp();

    public static byte Of(int cp) => cp < 0x10000 ? Bmp[cp] : Compute(cp);

    /// <summary>Reads the code point at <paramref name="i"/>; <paramref name="len"/> is 1 or 2 UTF-16 units.
    /// Callers replace lone surrogates before scanning, so a high surrogate is always followed by a low one.</summary>
    public static int CodePointAt(ReadOnlySpan<char> s, int i, out int len)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            len = 2;
            return char.ConvertToUtf32(c, s[i + 1]);
        }
        len = 1;
        return c;
    }

    private static byte[] BuildBmp()
    {
        var t = new byte[0x10000];
        for (int cp = 0; cp < 0x10000; cp++)
            t[cp] = (cp >= 0xD800 && cp < 0xE000) ? (byte)0 : Compute(cp);
        return t;
    }

    private static byte Compute(int cp)
    {
        byte f = IsWhiteSpace(cp) ? Space : (byte)0;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
                return (byte)(f | Letter | UpperLike);
            case UnicodeCategory.LowercaseLetter:
                return (byte)(f | Letter | LowerLike);
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return (byte)(f | Letter | UpperLike | LowerLike);
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.SpacingCombiningMark:
            case UnicodeCategory.EnclosingMark:
                return (byte)(f | Mark | UpperLike | LowerLike);
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return (byte)(f | Number);
            case UnicodeCategory.ConnectorPunctuation:
            case UnicodeCategory.DashPunctuation:
            case UnicodeCategory.OpenPunctuation:
            case UnicodeCategory.ClosePunctuation:
            case UnicodeCategory.InitialQuotePunctuation:
            case UnicodeCategory.FinalQuotePunctuation:
            case UnicodeCategory.OtherPunctuation:
                return (byte)(f | Punct);
            case UnicodeCategory.MathSymbol:
            case UnicodeCategory.CurrencySymbol:
            case UnicodeCategory.ModifierSymbol:
            case UnicodeCategory.OtherSymbol:
                return (byte)(f | Symbol);
            default:
                return f;
        }
    }

    private static bool IsWhiteSpace(int cp) =>
        cp is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;
}
