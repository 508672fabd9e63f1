using System.Globalization;
using System.Text;

namespace Sovra.Text.Templates;

/// <summary>
/// The Python methods of str, dict and list that templates call (message.content.strip(), tool.get('x')...).
/// Each is Sovra's own implementation of the Python behaviour; nothing is dispatched by reflection.
/// Names that exist in Python but are not implemented resolve to a method that fails with a clear message,
/// so "is defined" answers as Python would.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> PythonStrMethods =
    [
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format", "format_map", "index",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace",
        "istitle", "isupper", "join", "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace",
        "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
        "title", "translate", "upper", "zfill",
    ];

    private static readonly HashSet<string> UnsafeDict = ["clear", "pop", "popitem", "setdefault", "update"];
    private static readonly HashSet<string> UnsafeList = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"];

    public static bool IsUnsafeDictMethod(string name) => UnsafeDict.Contains(name);
    public static bool IsUnsafeListMethod(string name) => UnsafeList.Contains(name);

    private static CallableValue M(string name, Func<Interpreter, CallArgs, Value> f) => new(name, f);

    public static Value? ForStr(StrValue self, string name)
    {
        if (!PythonStrMethods.Contains(name)) return null;
        var s = self.S;
        return name switch
        {
            "strip" => M("str.strip", (it, a) => new StrValue(Strip(s, Chars(it, "strip", a), true, true), self.Safe)),
            "lstrip" => M("str.lstrip", (it, a) => new StrValue(Strip(s, Chars(it, "lstrip", a), true, false), self.Safe)),
            "rstrip" => M("str.rstrip", (it, a) => new StrValue(Strip(s, Chars(it, "rstrip", a), false, true), self.Safe)),
            "split" => M("str.split", (it, a) => Split(it, s, a, fromRight: false)),
            "rsplit" => M("str.rsplit", (it, a) => Split(it, s, a, fromRight: true)),
            "splitlines" => M("str.splitlines", (it, a) =>
            {
                var keep = ArgBinder.Bool(ArgBinder.Bind(it, "splitlines", a, "keepends")[0], false);
                return new ListValue(SplitLines(s, keep).Select(x => (Value)StrValue.Of(x)).ToList());
            }),
            "startswith" => M("str.startswith", (it, a) => BoolValue.Of(Affix(it, "startswith", s, a, start: true))),
            "endswith" => M("str.endswith", (it, a) => BoolValue.Of(Affix(it, "endswith", s, a, start: false))),
            "replace" => M("str.replace", (it, a) =>
            {
                var p = ArgBinder.Bind(it, "replace", a, "old", "new", "count");
                return Replace(it, s, ArgBinder.Str(it, "replace", p[0]), ArgBinder.Str(it, "replace", p[1]), ArgBinder.Int(it, "replace", p[2], -1));
            }),
            "upper" => M("str.upper", (it, a) => { NoArgs(it, "upper", a); return new StrValue(s.ToUpperInvariant(), self.Safe); }),
            "lower" => M("str.lower", (it, a) => { NoArgs(it, "lower", a); return new StrValue(s.ToLowerInvariant(), self.Safe); }),
            "casefold" => M("str.casefold", (it, a) => { NoArgs(it, "casefold", a); return StrValue.Of(s.ToLowerInvariant()); }),
            "title" => M("str.title", (it, a) => { NoArgs(it, "title", a); return StrValue.Of(Title(s)); }),
            "capitalize" => M("str.capitalize", (it, a) => { NoArgs(it, "capitalize", a); return StrValue.Of(Capitalize(s)); }),
            "swapcase" => M("str.swapcase", (it, a) =>
            {
                NoArgs(it, "swapcase", a);
                return StrValue.Of(string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c)));
            }),
            "format" => M("str.format", (it, a) => it.MakeString(PyFormat.Format(it, s, a))),
            "join" => M("str.join", (it, a) =>
            {
                var items = it.Iterate(ArgBinder.Bind(it, "join", a, "iterable")[0] ?? throw it.Fail("join() takes exactly one argument"));
                var parts = items.Select(x => x is StrValue xs ? xs.S : throw it.Fail($"sequence item: expected str instance, {PyOps.TypeName(x)} found")).ToList();
                it.ChargeString(parts.Sum(p => (long)p.Length) + (long)s.Length * Math.Max(0, parts.Count - 1));
                return StrValue.Of(string.Join(s, parts));
            }),
            "find" => M("str.find", (it, a) => IntValue.Of(Find(it, "find", s, a, fromRight: false))),
            "rfind" => M("str.rfind", (it, a) => IntValue.Of(Find(it, "rfind", s, a, fromRight: true))),
            "index" => M("str.index", (it, a) => { var i = Find(it, "index", s, a, false); return i < 0 ? throw it.Fail("substring not found") : IntValue.Of(i); }),
            "rindex" => M("str.rindex", (it, a) => { var i = Find(it, "rindex", s, a, true); return i < 0 ? throw it.Fail("substring not found") : IntValue.Of(i); }),
            "count" => M("str.count", (it, a) =>
            {
                var sub = ArgBinder.Str(it, "count", ArgBinder.Bind(it, "count", a, "sub")[0]);
                if (sub.Length == 0) return IntValue.Of(PyText.Length(s) + 1);
                var n = 0;
                for (var i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
                return IntValue.Of(n);
            }),
            "isdigit" or "isdecimal" or "isnumeric" => M("str." + name, (it, a) => BoolValue.Of(s.Length > 0 && s.All(char.IsDigit))),
            "isalpha" => M("str.isalpha", (it, a) => BoolValue.Of(s.Length > 0 && s.All(char.IsLetter))),
            "isalnum" => M("str.isalnum", (it, a) => BoolValue.Of(s.Length > 0 && s.All(char.IsLetterOrDigit))),
            "isspace" => M("str.isspace", (it, a) => BoolValue.Of(s.Length > 0 && s.All(PyText.IsSpace))),
            "isascii" => M("str.isascii", (it, a) => BoolValue.Of(s.All(char.IsAscii))),
            "islower" => M("str.islower", (it, a) => BoolValue.Of(s.Any(char.IsLower) && !s.Any(c => char.IsUpper(c) || IsTitlecase(c)))),
            "isupper" => M("str.isupper", (it, a) => BoolValue.Of(s.Any(char.IsUpper) && !s.Any(c => char.IsLower(c) || IsTitlecase(c)))),
            "removeprefix" => M("str.removeprefix", (it, a) =>
            {
                var p = ArgBinder.Str(it, "removeprefix", ArgBinder.Bind(it, "removeprefix", a, "prefix")[0]);
                return s.StartsWith(p, StringComparison.Ordinal) ? StrValue.Of(s[p.Length..]) : self;
            }),
            "removesuffix" => M("str.removesuffix", (it, a) =>
            {
                var p = ArgBinder.Str(it, "removesuffix", ArgBinder.Bind(it, "removesuffix", a, "suffix")[0]);
                return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? StrValue.Of(s[..^p.Length]) : self;
            }),
            "partition" or "rpartition" => M("str." + name, (it, a) =>
            {
                var sep = ArgBinder.Str(it, name, ArgBinder.Bind(it, name, a, "sep")[0]);
                if (sep.Length == 0) throw it.Fail("empty separator");
                var i = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                if (i < 0)
                    return name == "partition"
                        ? new ListValue([self, StrValue.Empty, StrValue.Empty], true)
                        : new ListValue([StrValue.Empty, StrValue.Empty, self], true);
                return new ListValue([StrValue.Of(s[..i]), StrValue.Of(sep), StrValue.Of(s[(i + sep.Length)..])], true);
            }),
            "zfill" => M("str.zfill", (it, a) =>
            {
                var w = ArgBinder.Int(it, "zfill", ArgBinder.Bind(it, "zfill", a, "width")[0], 0);
                var len = PyText.Length(s);
                if (w <= len) return self;
                it.ChargeString(w);
                var sign = s.Length > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;
                return StrValue.Of(s[..sign] + new string('0', (int)(w - len)) + s[sign..]);
            }),
            "center" or "ljust" or "rjust" => M("str." + name, (it, a) =>
            {
                var p = ArgBinder.Bind(it, name, a, "width", "fillchar");
                var w = ArgBinder.Int(it, name, p[0], 0);
                var fill = ArgBinder.Str(it, name, p[1], " ");
                return StrValue.Of(Pad(it, s, w, fill, name));
            }),
            _ => M("str." + name, (it, _) => throw it.Fail($"str.{name}() is not supported in Sovra's chat templates")),
        };
    }

    public static Value? ForDict(DictValue d, string name) => name switch
    {
        "get" => M("dict.get", (it, a) =>
        {
            var p = ArgBinder.Bind(it, "get", a, "key", "default");
            var key = p[0] ?? throw it.Fail("get expected at least 1 argument, got 0");
            if (!PyOps.IsHashable(key)) throw it.Fail($"unhashable type: '{PyOps.TypeName(key)}'");
            return d.Map.TryGetValue(key, out var v) ? v : p[1] ?? NoneValue.Instance;
        }),
        "items" => M("dict.items", (it, a) =>
        {
            NoArgs(it, "items", a);
            it.Step(d.Map.Count);
            return new ListValue(d.Map.Select(kv => (Value)new ListValue([kv.Key, kv.Value], true)).ToList());
        }),
        "keys" => M("dict.keys", (it, a) => { NoArgs(it, "keys", a); return new ListValue([.. d.Map.Keys]); }),
        "values" => M("dict.values", (it, a) => { NoArgs(it, "values", a); return new ListValue([.. d.Map.Values]); }),
        "copy" => M("dict.copy", (it, a) =>
        {
            NoArgs(it, "copy", a);
            var c = new DictValue(d.Map.Count);
            foreach (var (k, v) in d.Map) c.Map[k] = v;
            return c;
        }),
        "fromkeys" => M("dict.fromkeys", (it, _) => throw it.Fail("dict.fromkeys() is not supported in Sovra's chat templates")),
        _ => null,
    };

    public static Value? ForList(ListValue l, string name) => name switch
    {
        "count" => M("list.count", (it, a) =>
        {
            var x = ArgBinder.Bind(it, "count", a, "value")[0] ?? throw it.Fail("count() takes exactly one argument");
            return IntValue.Of(l.Items.Count(v => PyOps.Equals(v, x)));
        }),
        "index" => M("list.index", (it, a) =>
        {
            var x = ArgBinder.Bind(it, "index", a, "value")[0] ?? throw it.Fail("index expected at least 1 argument");
            var i = l.Items.FindIndex(v => PyOps.Equals(v, x));
            return i < 0 ? throw it.Fail($"{PyText.Repr(x)} is not in list") : IntValue.Of(i);
        }),
        "copy" when !l.IsTuple => M("list.copy", (it, a) => { NoArgs(it, "copy", a); return new ListValue([.. l.Items]); }),
        _ => null,
    };

    private static void NoArgs(Interpreter it, string fn, CallArgs a)
    {
        if (a.Positional.Count > 0 || a.Keywords.Count > 0) throw it.Fail($"{fn}() takes no arguments");
    }

    private static string? Chars(Interpreter it, string fn, CallArgs a)
    {
        var v = ArgBinder.Bind(it, fn, a, "chars")[0];
        return v is null or NoneValue ? null : ArgBinder.Str(it, fn, v);
    }

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        Func<char, bool> drop = chars == null ? PyText.IsSpace : chars.Contains;
        int b = 0, e = s.Length;
        if (left) while (b < e && drop(s[b])) b++;
        if (right) while (e > b && drop(s[e - 1])) e--;
        return s[b..e];
    }

    private static Value Split(Interpreter it, string s, CallArgs a, bool fromRight)
    {
        var fn = fromRight ? "rsplit" : "split";
        var p = ArgBinder.Bind(it, fn, a, "sep", "maxsplit");
        var max = ArgBinder.Int(it, fn, p[1], -1);
        it.Step(s.Length / 8);
        List<string> parts;
        if (p[0] is null or NoneValue) parts = fromRight ? RSplitWhitespace(s, max) : SplitWhitespace(s, max);
        else
        {
            var sep = ArgBinder.Str(it, fn, p[0]);
            if (sep.Length == 0) throw it.Fail("empty separator");
            parts = [];
            if (!fromRight)
            {
                var start = 0;
                while (max < 0 || parts.Count < max)
                {
                    var i = s.IndexOf(sep, start, StringComparison.Ordinal);
                    if (i < 0) break;
                    parts.Add(s[start..i]);
                    start = i + sep.Length;
                }
                parts.Add(s[start..]);
            }
            else
            {
                var end = s.Length;
                var count = 0;
                while (max < 0 || count < max)
                {
                    if (end < sep.Length) break;
                    var i = s.LastIndexOf(sep, end - 1, StringComparison.Ordinal);
                    if (i < 0 || i + sep.Length > end) break;
                    parts.Add(s[(i + sep.Length)..end]);
                    end = i;
                    count++;
                }
                parts.Add(s[..end]);
                parts.Reverse();
            }
        }
        it.CheckItems(parts.Count);
        return new ListValue(parts.Select(x => (Value)StrValue.Of(x)).ToList());
    }

    private static List<string> SplitWhitespace(string s, long max)
    {
        var parts = new List<string>();
        var i = 0;
        while (true)
        {
            while (i < s.Length && PyText.IsSpace(s[i])) i++;
            if (i >= s.Length) break;
            if (max >= 0 && parts.Count >= max)
            {
                parts.Add(s[i..]);
                break;
            }
            var j = i;
            while (j < s.Length && !PyText.IsSpace(s[j])) j++;
            parts.Add(s[i..j]);
            i = j;
        }
        return parts;
    }

    private static List<string> RSplitWhitespace(string s, long max)
    {
        var parts = new List<string>();
        var i = s.Length;
        while (true)
        {
            while (i > 0 && PyText.IsSpace(s[i - 1])) i--;
            if (i <= 0) break;
            if (max >= 0 && parts.Count >= max)
            {
                parts.Add(s[..i]);
                break;
            }
            var j = i;
            while (j > 0 && !PyText.IsSpace(s[j - 1])) j--;
            parts.Add(s[j..i]);
            i = j;
        }
        parts.Reverse();
        return parts;
    }

    /// <summary>Python's str.splitlines line boundaries.</summary>
    public static List<string> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                var end = i;
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
                lines.Add(keepEnds ? s[start..(i + 1)] : s[start..end]);
                start = i + 1;
            }
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    private static bool Affix(Interpreter it, string fn, string s, CallArgs a, bool start)
    {
        var p = ArgBinder.Bind(it, fn, a, "prefix", "start", "end");
        var target = s;
        if (p[1] is not (null or NoneValue) || p[2] is not (null or NoneValue))
        {
            long? st = p[1] is null or NoneValue ? null : ArgBinder.Int(it, fn, p[1], 0);
            long? en = p[2] is null or NoneValue ? null : ArgBinder.Int(it, fn, p[2], 0);
            target = PyText.Slice(s, st, en, null);
        }
        var options = p[0] switch
        {
            StrValue one => [one.S],
            ListValue { IsTuple: true } t => t.Items.Select(x => ArgBinder.Str(it, fn, x)).ToList(),
            _ => throw it.Fail($"{fn} first arg must be str or a tuple of str, not {(p[0] == null ? "nothing" : PyOps.TypeName(p[0]!))}"),
        };
        return options.Any(o => start ? target.StartsWith(o, StringComparison.Ordinal) : target.EndsWith(o, StringComparison.Ordinal));
    }

    private static long Find(Interpreter it, string fn, string s, CallArgs a, bool fromRight)
    {
        var p = ArgBinder.Bind(it, fn, a, "sub", "start", "end");
        var sub = ArgBinder.Str(it, fn, p[0]);
        if (p[1] != null || p[2] != null) throw it.Fail($"str.{fn}() with start/end is not supported in Sovra's chat templates");
        var i = fromRight ? s.LastIndexOf(sub, StringComparison.Ordinal) : s.IndexOf(sub, StringComparison.Ordinal);
        // Python counts code points; convert the UTF-16 offset.
        return i < 0 ? -1 : PyText.Length(s[..i]);
    }

    public static Value Replace(Interpreter it, string s, string old, string @new, long count)
    {
        if (count == 0) return StrValue.Of(s);
        if (old.Length == 0)
        {
            // Python inserts the replacement between every character (and at both ends).
            var chars = PyText.Chars(s).Select(c => ((StrValue)c).S).ToList();
            var sb0 = new StringBuilder();
            var done = 0L;
            for (var i = 0; i <= chars.Count; i++)
            {
                if (count < 0 || done < count) { sb0.Append(@new); done++; }
                if (i < chars.Count) sb0.Append(chars[i]);
                it.ChargeString(sb0.Length);
            }
            return StrValue.Of(sb0.ToString());
        }
        var sb = new StringBuilder();
        var start = 0;
        var n = 0L;
        while (count < 0 || n < count)
        {
            var i = s.IndexOf(old, start, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, start, i - start).Append(@new);
            start = i + old.Length;
            n++;
            it.ChargeString(sb.Length);
        }
        sb.Append(s, start, s.Length - start);
        it.ChargeString(sb.Length);
        return StrValue.Of(sb.ToString());
    }

    private static bool IsTitlecase(char c) => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;
    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) || IsTitlecase(c);

    /// <summary>Python's str.title: a cased character after an uncased one starts a word.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var prevCased = false;
        foreach (var c in s)
        {
            sb.Append(prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = IsCased(c);
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static string Pad(Interpreter it, string s, long width, string fill, string how)
    {
        if (PyText.Length(fill) != 1) throw it.Fail("The fill character must be exactly one character long");
        var len = PyText.Length(s);
        if (width <= len) return s;
        it.ChargeString(width);
        var total = (int)(width - len);
        int left = how switch
        {
            "ljust" => 0,
            "rjust" => total,
            // CPython's centring puts the extra space on the left when width is odd... only if total and width are both odd.
            _ => total / 2 + (total & (int)width & 1),
        };
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, total - left));
    }
}
