using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Sovra.Text.Templates;

/// <summary>Python's str.format for the field forms templates use: {}, {0}, {name}, {0.attr}, {0[key]}, !r / !s, and simple specs.</summary>
internal static partial class PyFormat
{
    [GeneratedRegex(@"^(?:(?<fill>.)?(?<align>[<>^=]))?(?<sign>[+\- ])?(?<zero>0)?(?<width>\d+)?(?:\.(?<prec>\d+))?(?<type>[sdf])?$", RegexOptions.Singleline)]
    private static partial Regex SpecRe();

    public static string Format(Interpreter it, string fmt, CallArgs args)
    {
        var sb = new StringBuilder();
        var auto = 0;
        for (var i = 0; i < fmt.Length; i++)
        {
            var c = fmt[i];
            if (c == '}')
            {
                if (i + 1 < fmt.Length && fmt[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw it.Fail("Single '}' encountered in format string");
            }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < fmt.Length && fmt[i + 1] == '{') { sb.Append('{'); i++; continue; }
            var close = fmt.IndexOf('}', i + 1);
            if (close < 0) throw it.Fail("Single '{' encountered in format string");
            var field = fmt[(i + 1)..close];
            i = close;
            string? spec = null, conv = null;
            var colon = field.IndexOf(':');
            if (colon >= 0) { spec = field[(colon + 1)..]; field = field[..colon]; }
            var bang = field.IndexOf('!');
            if (bang >= 0) { conv = field[(bang + 1)..]; field = field[..bang]; }
            var m = Regex.Match(field, @"^([^.\[]*)(.*)$");
            var head = m.Groups[1].Value;
            Value v;
            if (head.Length == 0)
                v = auto < args.Positional.Count ? args.Positional[auto++] : throw it.Fail($"Replacement index {auto} out of range for positional args tuple");
            else if (int.TryParse(head, NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                v = idx < args.Positional.Count ? args.Positional[idx] : throw it.Fail($"Replacement index {idx} out of range for positional args tuple");
            else
                v = args.Keywords.FirstOrDefault(k => k.Key == head).Value ?? throw it.Fail($"KeyError: '{head}'");
            foreach (Match part in Regex.Matches(m.Groups[2].Value, @"\.(\w+)|\[([^\]]*)\]"))
            {
                if (part.Groups[1].Success) v = it.GetAttr(v, part.Groups[1].Value);
                else
                {
                    var key = part.Groups[2].Value;
                    v = it.GetItem(v, long.TryParse(key, out var n) ? IntValue.Of(n) : StrValue.Of(key));
                }
            }
            var text = conv switch
            {
                null or "s" => PyText.Str(v),
                "r" => PyText.Repr(v),
                _ => throw it.Fail($"Unknown conversion specifier {conv}"),
            };
            sb.Append(string.IsNullOrEmpty(spec) ? text : ApplySpec(it, v, text, spec, conv != null));
            it.ChargeString(sb.Length);
        }
        return sb.ToString();
    }

    private static string ApplySpec(Interpreter it, Value v, string text, string spec, bool converted)
    {
        var m = SpecRe().Match(spec);
        if (!m.Success) throw it.Fail($"format spec '{spec}' is not supported in Sovra's chat templates");
        var type = m.Groups["type"].Value;
        var numeric = !converted && PyOps.IsNumber(v) && v is not BoolValue;
        if (numeric && (type == "f" || m.Groups["prec"].Success))
        {
            var prec = m.Groups["prec"].Success ? int.Parse(m.Groups["prec"].Value, CultureInfo.InvariantCulture) : 6;
            text = PyOps.AsDouble(v).ToString("F" + prec, CultureInfo.InvariantCulture);
        }
        else if (type == "d" && v is not IntValue) throw it.Fail($"Unknown format code 'd' for object of type '{PyOps.TypeName(v)}'");
        else if (!numeric && m.Groups["prec"].Success) text = PyText.Slice(text, 0, int.Parse(m.Groups["prec"].Value, CultureInfo.InvariantCulture), null);
        if (numeric && m.Groups["sign"].Value == "+" && !text.StartsWith('-')) text = "+" + text;
        var width = m.Groups["width"].Success ? int.Parse(m.Groups["width"].Value, CultureInfo.InvariantCulture) : 0;
        var fill = m.Groups["fill"].Success ? m.Groups["fill"].Value : m.Groups["zero"].Success ? "0" : " ";
        var align = m.Groups["align"].Success ? m.Groups["align"].Value : numeric ? (m.Groups["zero"].Success ? "=" : ">") : "<";
        var len = PyText.Length(text);
        if (width <= len) return text;
        it.ChargeString(width);
        var pad = width - len;
        return align switch
        {
            "<" => text + Rep(fill, pad),
            ">" => Rep(fill, pad) + text,
            "^" => Rep(fill, pad / 2) + text + Rep(fill, pad - pad / 2),
            _ => text.StartsWith('-') || text.StartsWith('+') ? text[0] + Rep(fill, pad) + text[1..] : Rep(fill, pad) + text,
        };
    }

    private static string Rep(string s, int n) => string.Concat(Enumerable.Repeat(s, n));
}
