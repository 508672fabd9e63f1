using System.Globalization;
using System.Text;

namespace Sovra.Text.Templates;

internal enum Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, Str, Int, Float, Op, Eof }

internal readonly record struct Token(Tok Kind, string Text, int Line, Value? Literal = null)
{
    public bool Is(Tok kind, string text) => Kind == kind && Text == text;
    public bool IsName(string text) => Kind == Tok.Name && Text == text;
    public bool IsOp(string text) => Kind == Tok.Op && Text == text;
}

/// <summary>
/// Splits template text into data and tag tokens exactly as Jinja2's lexer does with
/// trim_blocks=True and lstrip_blocks=True (Hugging Face's settings): newlines normalised to \n,
/// one trailing newline dropped, '-' strips all whitespace beside a tag, '+' keeps it,
/// a block tag eats the newline after it, and indentation before a block tag on its own line is removed.
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;
    private bool _lineStarting = true;

    private Lexer(string source) => _src = Normalize(source);

    public static List<Token> Tokenize(string source)
    {
        var lx = new Lexer(source);
        lx.Run();
        return lx._tokens;
    }

    private static string Normalize(string source)
    {
        var s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    private void Run()
    {
        while (_pos < _src.Length)
        {
            var tagAt = FindTagStart(_pos, out var kind);
            if (tagAt < 0)
            {
                Emit(Tok.Data, _src[_pos..]);
                _pos = _src.Length;
                break;
            }
            var text = _src[_pos..tagAt];
            var signPos = tagAt + 2;
            var sign = signPos < _src.Length && (_src[signPos] == '-' || _src[signPos] == '+') ? _src[signPos] : '\0';
            var rawEnd = 0;
            var isRaw = kind == '%' && MatchRawBegin(tagAt, out rawEnd);
            if (sign == '-') text = RStrip(text);
            else if (sign != '+' && kind != '{')
            {
                var lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || _lineStarting) && lpos < text.Length && AllSpace(text, lpos)) text = text[..lpos];
            }
            Emit(Tok.Data, text);
            _line += Count(_src, _pos, tagAt);
            _pos = signPos + (sign != '\0' ? 1 : 0);
            _lineStarting = false;
            if (isRaw) { LexRaw(rawEnd); continue; }
            switch (kind)
            {
                case '#': LexComment(); break;
                case '%': LexTag(Tok.BlockBegin, Tok.BlockEnd, "%}", trim: true); break;
                default: LexTag(Tok.VarBegin, Tok.VarEnd, "}}", trim: false); break;
            }
        }
        _tokens.Add(new Token(Tok.Eof, "", _line));
    }

    private void Emit(Tok kind, string text)
    {
        if (kind == Tok.Data && text.Length == 0) return;
        _tokens.Add(new Token(kind, text, _line));
    }

    private int FindTagStart(int from, out char kind)
    {
        kind = '\0';
        for (var i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            var c = _src[i + 1];
            if (c is '{' or '%' or '#') { kind = c; return i; }
        }
        return -1;
    }

    /// <summary>{% raw %} / {%- raw -%}: the begin tag never trims the following newline (as in Jinja2).</summary>
    private bool MatchRawBegin(int at, out int afterTag)
    {
        afterTag = 0;
        var i = at + 2;
        if (i < _src.Length && (_src[i] == '-' || _src[i] == '+')) i++;
        while (i < _src.Length && PyText.IsSpace(_src[i])) i++;
        if (string.CompareOrdinal(_src, i, "raw", 0, 3) != 0) return false;
        i += 3;
        while (i < _src.Length && PyText.IsSpace(_src[i])) i++;
        if (string.CompareOrdinal(_src, i, "-%}", 0, 3) == 0)
        {
            i += 3;
            while (i < _src.Length && PyText.IsSpace(_src[i])) i++;
        }
        else if (string.CompareOrdinal(_src, i, "%}", 0, 2) == 0) i += 2;
        else return false;
        afterTag = i;
        return true;
    }

    private void LexRaw(int bodyStart)
    {
        _line += Count(_src, _pos, bodyStart);
        // Find {%[-+]? endraw [-+]?%}
        for (var i = _src.IndexOf("{%", bodyStart, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 1, StringComparison.Ordinal))
        {
            var j = i + 2;
            var sign = j < _src.Length && (_src[j] == '-' || _src[j] == '+') ? _src[j] : '\0';
            if (sign != '\0') j++;
            while (j < _src.Length && PyText.IsSpace(_src[j])) j++;
            if (string.CompareOrdinal(_src, j, "endraw", 0, 6) != 0) continue;
            j += 6;
            while (j < _src.Length && PyText.IsSpace(_src[j])) j++;
            int end;
            if (string.CompareOrdinal(_src, j, "+%}", 0, 3) == 0) end = j + 3;
            else if (string.CompareOrdinal(_src, j, "-%}", 0, 3) == 0) { end = j + 3; while (end < _src.Length && PyText.IsSpace(_src[end])) end++; }
            else if (string.CompareOrdinal(_src, j, "%}", 0, 2) == 0) { end = j + 2; if (end < _src.Length && _src[end] == '\n') end++; }
            else continue;
            var text = _src[bodyStart..i];
            if (sign == '-') text = RStrip(text);
            else if (sign != '+')
            {
                var lpos = text.LastIndexOf('\n') + 1;
                if (lpos > 0 && lpos < text.Length && AllSpace(text, lpos)) text = text[..lpos];
            }
            Emit(Tok.Data, text);
            _line += Count(_src, bodyStart, end);
            _lineStarting = _src[end - 1] == '\n';
            _pos = end;
            return;
        }
        throw new TemplateSyntaxException("Missing end of raw directive", _line);
    }

    private void LexComment()
    {
        var i = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (i < 0) throw new TemplateSyntaxException("Missing end of comment tag", _line);
        var end = i + 2;
        var sign = i > _pos ? _src[i - 1] : '\0';
        if (sign == '-') while (end < _src.Length && PyText.IsSpace(_src[end])) end++;
        else if (sign != '+' && end < _src.Length && _src[end] == '\n') end++;
        _line += Count(_src, _pos, end);
        _lineStarting = _src[end - 1] == '\n';
        _pos = end;
    }

    private void LexTag(Tok begin, Tok endKind, string endText, bool trim)
    {
        _tokens.Add(new Token(begin, "", _line));
        var balance = new Stack<char>();
        while (true)
        {
            if (_pos >= _src.Length)
                throw new TemplateSyntaxException($"unexpected end of template, expected '{endText}'", _line);
            if (balance.Count == 0)
            {
                // End tag: "+%}" keeps, "-%}" strips following whitespace, "%}" eats one newline (trim_blocks).
                if (trim && Starts("+" + endText)) { Finish(_pos + 3); return; }
                if (Starts("-" + endText))
                {
                    var e = _pos + 3;
                    while (e < _src.Length && PyText.IsSpace(_src[e])) e++;
                    Finish(e);
                    return;
                }
                if (Starts(endText))
                {
                    var e = _pos + 2;
                    if (trim && e < _src.Length && _src[e] == '\n') e++;
                    Finish(e);
                    return;
                }
            }
            var c = _src[_pos];
            if (PyText.IsSpace(c))
            {
                while (_pos < _src.Length && PyText.IsSpace(_src[_pos])) { if (_src[_pos] == '\n') _line++; _pos++; }
                continue;
            }
            if (char.IsAsciiDigit(c)) { LexNumber(); continue; }
            if (c == '_' || char.IsLetter(c))
            {
                var s = _pos;
                while (_pos < _src.Length && (_src[_pos] == '_' || char.IsLetterOrDigit(_src[_pos]))) _pos++;
                _tokens.Add(new Token(Tok.Name, _src[s.._pos], _line));
                continue;
            }
            if (c is '\'' or '"') { LexString(c); continue; }
            var op = Operators.FirstOrDefault(Starts);
            if (op == null) throw new TemplateSyntaxException($"unexpected char '{c}' at {_pos}", _line);
            if (op is "(" or "[" or "{") balance.Push(op switch { "(" => ')', "[" => ']', _ => '}' });
            else if (op is ")" or "]" or "}")
            {
                if (balance.Count == 0) throw new TemplateSyntaxException($"unexpected '{op}'", _line);
                var expected = balance.Pop();
                if (expected != op[0]) throw new TemplateSyntaxException($"unexpected '{op}', expected '{expected}'", _line);
            }
            _tokens.Add(new Token(Tok.Op, op, _line));
            _pos += op.Length;
        }

        void Finish(int end)
        {
            _tokens.Add(new Token(endKind, "", _line));
            _line += Count(_src, _pos, end);
            _lineStarting = _src[end - 1] == '\n';
            _pos = end;
        }
    }

    private bool Starts(string s) => string.CompareOrdinal(_src, _pos, s, 0, s.Length) == 0;

    private void LexNumber()
    {
        var s = _pos;
        while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
        var isFloat = false;
        if (_pos + 1 < _src.Length && _src[_pos] == '.' && char.IsAsciiDigit(_src[_pos + 1]))
        {
            isFloat = true;
            _pos++;
            while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
        }
        if (_pos < _src.Length && (_src[_pos] == 'e' || _src[_pos] == 'E'))
        {
            var save = _pos;
            _pos++;
            if (_pos < _src.Length && (_src[_pos] == '+' || _src[_pos] == '-')) _pos++;
            if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
            {
                isFloat = true;
                while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
            }
            else _pos = save;
        }
        var text = _src[s.._pos].Replace("_", "");
        if (isFloat)
            _tokens.Add(new Token(Tok.Float, text, _line, new FloatValue(double.Parse(text, CultureInfo.InvariantCulture))));
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            _tokens.Add(new Token(Tok.Int, text, _line, IntValue.Of(n)));
        else throw new TemplateSyntaxException($"integer literal {text} is too large", _line);
    }

    private void LexString(char quote)
    {
        var sb = new StringBuilder();
        var startLine = _line;
        _pos++;
        while (true)
        {
            if (_pos >= _src.Length) throw new TemplateSyntaxException("unexpected end of string", startLine);
            var c = _src[_pos];
            if (c == quote) { _pos++; break; }
            if (c == '\n') _line++;
            if (c != '\\') { sb.Append(c); _pos++; continue; }
            if (_pos + 1 >= _src.Length) throw new TemplateSyntaxException("unexpected end of string", startLine);
            var e = _src[_pos + 1];
            _pos += 2;
            switch (e)
            {
                case '\n': _line++; break; // line continuation
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(HexEscape(2)); break;
                case 'u': sb.Append(HexEscape(4)); break;
                case 'U': sb.Append(HexEscape(8)); break;
                case >= '0' and <= '7':
                    var v = e - '0';
                    for (var k = 0; k < 2 && _pos < _src.Length && _src[_pos] is >= '0' and <= '7'; k++) v = v * 8 + (_src[_pos++] - '0');
                    sb.Append((char)v);
                    break;
                default:
                    // Python keeps unknown escapes as they are ("\d" stays backslash + d).
                    sb.Append('\\').Append(e);
                    break;
            }
        }
        _tokens.Add(new Token(Tok.Str, sb.ToString(), startLine, StrValue.Of(sb.ToString())));
    }

    private string HexEscape(int digits)
    {
        if (_pos + digits > _src.Length || !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cp)
            || cp > 0x10FFFF)
            throw new TemplateSyntaxException("truncated or invalid \\x/\\u/\\U escape in string literal", _line);
        _pos += digits;
        return cp < 0x10000 ? ((char)cp).ToString() : char.ConvertFromUtf32(cp);
    }

    private static string RStrip(string s)
    {
        var e = s.Length;
        while (e > 0 && PyText.IsSpace(s[e - 1])) e--;
        return s[..e];
    }

    private static bool AllSpace(string s, int from)
    {
        for (var i = from; i < s.Length; i++) if (!PyText.IsSpace(s[i])) return false;
        return true;
    }

    private static int Count(string s, int from, int to)
    {
        var n = 0;
        for (var i = from; i < to; i++) if (s[i] == '\n') n++;
        return n;
    }
}
