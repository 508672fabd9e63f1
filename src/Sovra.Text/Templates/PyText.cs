using System.Globalization;
using System.Text;

namespace Sovra.Text.Templates;

/// <summary>Python's <c>str()</c> and <c>repr()</c> of template values, and Python string indexing by code point.</summary>
internal static class PyText
{
    public static string Str(Value v) => v switch
    {
        StrValue s => s.S,
        UndefinedValue => "",
        _ => Repr(v),
    };

    public static string Repr(Value v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, Value v, int depth)
    {
        // Self-referencing containers cannot be built in an immutable sandbox; the depth guard only
        // protects against very deep JSON input.
        if (depth > 200) throw new TemplateRuntimeException("value nested too deeply to print", 0);
        switch (v)
        {
            case NoneValue: sb.Append("None"); break;
            case BoolValue b: sb.Append(b.V ? "True" : "False"); break;
            case IntValue i: sb.Append(i.V.ToString(CultureInfo.InvariantCulture)); break;
            case FloatValue f: sb.Append(FloatRepr(f.V)); break;
            case StrValue s: AppendStrRepr(sb, s.S); break;
            case UndefinedValue: sb.Append("Undefined"); break;
            case ListValue l:
                sb.Append(l.IsTuple ? '(' : '[');
                for (var i = 0; i < l.Items.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, l.Items[i], depth + 1);
                }
                if (l.IsTuple && l.Items.Count == 1) sb.Append(',');
                sb.Append(l.IsTuple ? ')' : ']');
                break;
            case DictValue d:
                sb.Append('{');
                var first = true;
                foreach (var (k, val) in d.Map)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendRepr(sb, k, depth + 1);
                    sb.Append(": ");
                    AppendRepr(sb, val, depth + 1);
                }
                sb.Append('}');
                break;
            case NamespaceValue ns:
                sb.Append("<Namespace {");
                var f1 = true;
                foreach (var (k, val) in ns.Attrs)
                {
                    if (!f1) sb.Append(", ");
                    f1 = false;
                    AppendStrRepr(sb, k);
                    sb.Append(": ");
                    AppendRepr(sb, val, depth + 1);
                }
                sb.Append("}>");
                break;
            case MacroValue m: sb.Append("<Macro '").Append(m.Node.Name).Append("'>"); break;
            case CallableValue c: sb.Append("<built-in method ").Append(c.Name).Append('>'); break;
            case LoopValue: sb.Append("<LoopContext>"); break;
            case GeneratorValue: sb.Append("<generator object>"); break;
            default: throw new InvalidOperationException("unknown value kind");
        }
    }

    public static void AppendStrRepr(StringBuilder sb, string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == quote || c == '\\') { sb.Append('\\').Append(c); continue; }
            if (c == '\t') { sb.Append("\\t"); continue; }
            if (c == '\n') { sb.Append("\\n"); continue; }
            if (c == '\r') { sb.Append("\\r"); continue; }
            int cp = c;
            var width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(c, s[i + 1]);
                width = 2;
            }
            if (IsPrintable(cp)) sb.Append(s, i, width);
            else if (cp < 0x100) sb.Append("\\x").Append(cp.ToString("x2"));
            else if (cp < 0x10000) sb.Append("\\u").Append(cp.ToString("x4"));
            else sb.Append("\\U").Append(cp.ToString("x8"));
            i += width - 1;
        }
        sb.Append(quote);
    }

    /// <summary>Python's str.isprintable for one code point.</summary>
    private static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    /// <summary>Python's repr(float): shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // "R" gives the shortest round-trip digits (as Python's repr does); only their layout differs.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var neg = r.StartsWith('-');
        if (neg) r = r[1..];
        var exp = 0;
        var ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exp = int.Parse(r[(ePos + 1)..], CultureInfo.InvariantCulture);
            r = r[..ePos];
        }
        var dot = r.IndexOf('.');
        string digits;
        int pointPos; // value = 0.digits * 10^pointPos after normalisation below
        if (dot >= 0) { digits = r.Remove(dot, 1); pointPos = dot; }
        else { digits = r; pointPos = r.Length; }
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..];
        pointPos -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var decpt = pointPos + exp;
        var sb = new StringBuilder();
        if (neg) sb.Append('-');
        if (decpt <= -4 || decpt > 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            var e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (decpt <= 0) sb.Append("0.").Append('0', -decpt).Append(digits);
        else if (decpt >= digits.Length) sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
        else sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        return sb.ToString();
    }

    // ---- strings indexed by code point, as Python does ----

    private static bool HasSurrogates(string s)
    {
        foreach (var c in s) if (char.IsSurrogate(c)) return true;
        return false;
    }

    /// <summary>The code points of s as strings (one or two UTF-16 units each), or null when s has no surrogates.</summary>
    private static string[]? CodePoints(string s)
    {
        if (!HasSurrogates(s)) return null;
        var list = new List<string>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { list.Add(s.Substring(i, 2)); i++; }
            else list.Add(s[i].ToString());
        }
        return list.ToArray();
    }

    public static int Length(string s)
    {
        if (!HasSurrogates(s)) return s.Length;
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            n++;
        }
        return n;
    }

    /// <summary>The characters of s, as Python iterates a str.</summary>
    public static List<Value> Chars(string s)
    {
        var cps = CodePoints(s);
        var list = new List<Value>(s.Length);
        if (cps == null) foreach (var c in s) list.Add(StrValue.Of(c.ToString()));
        else foreach (var c in cps) list.Add(StrValue.Of(c));
        return list;
    }

    /// <summary>s[index] with Python's negative indices; null when out of range.</summary>
    public static string? At(string s, long index)
    {
        var cps = CodePoints(s);
        var n = cps?.Length ?? s.Length;
        if (index < 0) index += n;
        if (index < 0 || index >= n) return null;
        return cps != null ? cps[index] : s[(int)index].ToString();
    }

    public static string Slice(string s, long? start, long? stop, long? step)
    {
        var cps = CodePoints(s);
        var n = cps?.Length ?? s.Length;
        var idx = PyOps.SliceIndices(n, start, stop, step);
        var sb = new StringBuilder();
        foreach (var i in idx) sb.Append(cps != null ? cps[i] : s[i].ToString());
        return sb.ToString();
    }

    /// <summary>Python's str.isspace for one UTF-16 unit (no whitespace lies outside the BMP).</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');
}
