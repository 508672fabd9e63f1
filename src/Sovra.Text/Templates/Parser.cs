namespace Sovra.Text.Templates;

/// <summary>
/// Recursive-descent parser for the Jinja2 statements and expressions chat templates use, following
/// Jinja2's grammar and precedence (filters bind tighter than arithmetic; '~' sits between + and *).
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", "<=", ">", ">="];
    private readonly List<Token> _t;
    private readonly int _maxDepth;
    private int _i;
    private int _depth;
    private readonly List<HashSet<string>> _macroScopes = [];

    private Parser(List<Token> tokens, int maxDepth)
    {
        _t = tokens;
        _maxDepth = maxDepth;
    }

    public static List<Node> Parse(string source, TemplateLimits limits)
    {
        var p = new Parser(Lexer.Tokenize(source), limits.MaxNestingDepth);
        var body = p.ParseBody([]);
        if (p.Cur.Kind != Tok.Eof) throw p.Error($"unexpected '{p.Cur.Text}'");
        NameCheck.Run(body);
        return body;
    }

    private Token Cur => _t[_i];
    private Token Peek(int k = 1) => _t[Math.Min(_i + k, _t.Count - 1)];
    private Token Next() => _t[_i++];
    private TemplateSyntaxException Error(string msg) => new(msg, Cur.Line);

    private void Enter()
    {
        if (++_depth > _maxDepth)
            throw new TemplateLimitException(TemplateLimit.NestingDepth, $"template nests deeper than {_maxDepth} levels", Cur.Line);
    }

    private void Leave() => _depth--;

    private void Expect(Tok kind, string what)
    {
        if (Cur.Kind != kind) throw Error($"expected {what}, got '{Describe(Cur)}'");
        _i++;
    }

    private void ExpectOp(string op)
    {
        if (!Cur.IsOp(op)) throw Error($"expected '{op}', got '{Describe(Cur)}'");
        _i++;
    }

    private string ExpectName()
    {
        if (Cur.Kind != Tok.Name) throw Error($"expected a name, got '{Describe(Cur)}'");
        return Next().Text;
    }

    private static string Describe(Token t) => t.Kind switch
    {
        Tok.Eof => "end of template",
        Tok.BlockEnd => "end of statement block",
        Tok.VarEnd => "end of print statement",
        Tok.BlockBegin => "begin of statement block",
        Tok.VarBegin => "begin of print statement",
        _ => t.Text,
    };

    // ---- statements ----

    /// <summary>Parses nodes until a block tag whose first name is one of <paramref name="endTags"/> (left unconsumed, after BlockBegin).</summary>
    private List<Node> ParseBody(string[] endTags)
    {
        Enter();
        var nodes = new List<Node>();
        while (true)
        {
            var tok = Cur;
            switch (tok.Kind)
            {
                case Tok.Eof:
                    if (endTags.Length > 0) throw Error($"unexpected end of template; expected '{string.Join("' or '", endTags)}'");
                    Leave();
                    return nodes;
                case Tok.Data:
                    _i++;
                    nodes.Add(new TextNode(tok.Text, tok.Line));
                    break;
                case Tok.VarBegin:
                    _i++;
                    var e = ParseTuple(withCondExpr: true);
                    Expect(Tok.VarEnd, "'}}'");
                    nodes.Add(new OutputNode(e, tok.Line));
                    break;
                case Tok.BlockBegin:
                    if (Peek().Kind == Tok.Name && endTags.Contains(Peek().Text))
                    {
                        _i++; // BlockBegin; the caller reads the end tag name
                        Leave();
                        return nodes;
                    }
                    _i++;
                    nodes.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected '{Describe(tok)}'");
            }
        }
    }

    private Node ParseStatement()
    {
        var line = Cur.Line;
        if (Cur.Kind != Tok.Name) throw Error("tag name expected");
        var name = Next().Text;
        switch (name)
        {
            case "if": return ParseIf(line);
            case "for": return ParseFor(line);
            case "set": return ParseSet(line);
            case "macro": return ParseMacro(line);
            case "call": return ParseCallBlock(line);
            case "filter": return ParseFilterBlock(line);
            case "with": return ParseWith(line);
            case "break": Expect(Tok.BlockEnd, "'%}'"); return new BreakNode(line);
            case "continue": Expect(Tok.BlockEnd, "'%}'"); return new ContinueNode(line);
            case "generation":
                // Hugging Face's AssistantTracker extension: a call block that renders its body unchanged
                // (so, like any call block, assignments inside it stay inside).
                Expect(Tok.BlockEnd, "'%}'");
                var body = ParseBody(["endgeneration"]);
                EndTag("endgeneration");
                return new ScopeNode(body, line);
            case "extends" or "include" or "import" or "from" or "block":
                throw new TemplateSyntaxException($"'{name}' is not supported: a chat template is one self-contained file", line);
            default:
                if (name.StartsWith("end", StringComparison.Ordinal) || name is "else" or "elif")
                    throw new TemplateSyntaxException($"Encountered unknown tag '{name}'", line);
                throw new TemplateSyntaxException($"Encountered unknown tag '{name}'", line);
        }
    }

    private void EndTag(string name)
    {
        if (!Cur.IsName(name)) throw Error($"expected '{name}'");
        _i++;
        Expect(Tok.BlockEnd, "'%}'");
    }

    private Node ParseIf(int line)
    {
        var branches = new List<(Expr, List<Node>)>();
        List<Node>? elseBody = null;
        var test = ParseTuple(withCondExpr: true);
        Expect(Tok.BlockEnd, "'%}'");
        while (true)
        {
            var body = ParseBody(["elif", "else", "endif"]);
            branches.Add((test, body));
            var tag = Next().Text;
            if (tag == "elif")
            {
                test = ParseTuple(withCondExpr: true);
                Expect(Tok.BlockEnd, "'%}'");
                continue;
            }
            if (tag == "else")
            {
                Expect(Tok.BlockEnd, "'%}'");
                elseBody = ParseBody(["endif"]);
                _i++;
            }
            Expect(Tok.BlockEnd, "'%}'");
            return new IfNode(branches, elseBody, line);
        }
    }

    private Node ParseFor(int line)
    {
        var target = ParseAssignTarget(withNamespace: false);
        if (!Cur.IsName("in")) throw Error("expected 'in'");
        _i++;
        var iter = ParseTuple(withCondExpr: false, extraEnd: "recursive");
        Expr? filter = null;
        if (Cur.IsName("if")) { _i++; filter = ParseExpression(); }
        var recursive = false;
        if (Cur.IsName("recursive")) { _i++; recursive = true; }
        Expect(Tok.BlockEnd, "'%}'");
        var body = ParseBody(["endfor", "else"]);
        List<Node>? elseBody = null;
        if (Next().Text == "else")
        {
            Expect(Tok.BlockEnd, "'%}'");
            elseBody = ParseBody(["endfor"]);
            _i++;
        }
        Expect(Tok.BlockEnd, "'%}'");
        if (recursive) throw new TemplateSyntaxException("recursive for-loops are not supported", line);
        return new ForNode(target, iter, filter, body, elseBody, recursive, line);
    }

    private Node ParseSet(int line)
    {
        var target = ParseAssignTarget(withNamespace: true);
        if (Cur.IsOp("="))
        {
            _i++;
            var value = ParseTuple(withCondExpr: true);
            Expect(Tok.BlockEnd, "'%}'");
            return new SetNode(target, value, line);
        }
        var filters = new List<FilterExpr>();
        while (Cur.IsOp("|")) { _i++; filters.Add(ParseFilter(null)); }
        Expect(Tok.BlockEnd, "'%}'");
        var body = ParseBody(["endset"]);
        EndTag("endset");
        return new SetBlockNode(target, body, filters, line);
    }

    private Target ParseAssignTarget(bool withNamespace)
    {
        var line = Cur.Line;
        if (withNamespace && Cur.Kind == Tok.Name && Peek().IsOp(".") && Peek(2).Kind == Tok.Name)
        {
            var ns = Next().Text;
            _i++;
            return new NamespaceAttrTarget(ns, Next().Text, line);
        }
        var items = new List<Target>();
        var paren = false;
        if (Cur.IsOp("(")) { paren = true; _i++; }
        while (true)
        {
            items.Add(new NameTarget(CheckAssignable(ExpectName()), Cur.Line));
            if (!Cur.IsOp(",")) break;
            _i++;
            if (Cur.Kind != Tok.Name) break;
        }
        if (paren) ExpectOp(")");
        return items.Count == 1 && !paren ? items[0] : new TupleTarget(items, line);
    }

    private string CheckAssignable(string name)
    {
        if (name is "true" or "false" or "none" or "True" or "False" or "None")
            throw Error($"can't assign to '{name}'");
        return name;
    }

    private List<(string, Expr?)> ParseSignature()
    {
        var ps = new List<(string, Expr?)>();
        ExpectOp("(");
        while (!Cur.IsOp(")"))
        {
            if (ps.Count > 0) ExpectOp(",");
            if (Cur.IsOp(")")) break;
            var n = CheckAssignable(ExpectName());
            Expr? def = null;
            if (Cur.IsOp("=")) { _i++; def = ParseExpression(); }
            else if (ps.Any(p => p.Item2 != null)) throw Error("non-default argument follows default argument");
            ps.Add((n, def));
        }
        _i++;
        return ps;
    }

    private Node ParseMacro(int line)
    {
        var name = ExpectName();
        var ps = ParseSignature();
        Expect(Tok.BlockEnd, "'%}'");
        var uses = new HashSet<string>();
        _macroScopes.Add(uses);
        var body = ParseBody(["endmacro"]);
        _macroScopes.RemoveAt(_macroScopes.Count - 1);
        if (Cur.IsName("endmacro")) _i++;
        if (Cur.Kind == Tok.Name) _i++; // Jinja allows the macro name after endmacro
        Expect(Tok.BlockEnd, "'%}'");
        return new MacroNode(name, ps, body, uses.Contains("caller"), uses.Contains("varargs"), uses.Contains("kwargs"), line);
    }

    private Node ParseCallBlock(int line)
    {
        var ps = Cur.IsOp("(") ? ParseSignature() : [];
        var e = ParseExpression();
        if (e is not CallExpr call) throw new TemplateSyntaxException("expected call", line);
        Expect(Tok.BlockEnd, "'%}'");
        var uses = new HashSet<string>();
        _macroScopes.Add(uses);
        var body = ParseBody(["endcall"]);
        _macroScopes.RemoveAt(_macroScopes.Count - 1);
        EndTag("endcall");
        return new CallBlockNode(call, ps, body, line);
    }

    private Node ParseWith(int line)
    {
        var assignments = new List<(Target, Expr)>();
        while (Cur.Kind != Tok.BlockEnd)
        {
            if (assignments.Count > 0) ExpectOp(",");
            var target = ParseAssignTarget(withNamespace: false);
            ExpectOp("=");
            assignments.Add((target, ParseExpression()));
        }
        Expect(Tok.BlockEnd, "'%}'");
        var body = ParseBody(["endwith"]);
        EndTag("endwith");
        return new WithNode(assignments, body, line);
    }

    private Node ParseFilterBlock(int line)
    {
        var filters = new List<FilterExpr> { ParseFilter(null) };
        while (Cur.IsOp("|")) { _i++; filters.Add(ParseFilter(null)); }
        Expect(Tok.BlockEnd, "'%}'");
        var body = ParseBody(["endfilter"]);
        EndTag("endfilter");
        return new FilterBlockNode(filters, body, line);
    }

    // ---- expressions ----

    private Expr ParseTuple(bool withCondExpr, string? extraEnd = null)
    {
        var line = Cur.Line;
        var items = new List<Expr>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOp(",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondExpr ? ParseExpression() : ParseOr());
            if (Cur.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count == 0) throw Error($"expected an expression, got '{Describe(Cur)}'");
            return items[0];
        }
        return new ListExpr(items, true, line);
    }

    private bool IsTupleEnd(string? extraEnd) =>
        Cur.Kind is Tok.VarEnd or Tok.BlockEnd or Tok.Eof || Cur.IsOp(")") || (extraEnd != null && Cur.IsName(extraEnd));

    private Expr ParseExpression()
    {
        Enter();
        var line = Cur.Line;
        var e = ParseOr();
        while (Cur.IsName("if"))
        {
            _i++;
            var test = ParseOr();
            Expr? otherwise = null;
            if (Cur.IsName("else")) { _i++; otherwise = ParseExpression(); }
            e = new CondExpr(test, e, otherwise, line);
        }
        Leave();
        return e;
    }

    private Expr ParseOr()
    {
        var e = ParseAnd();
        while (Cur.IsName("or")) { var l = Next().Line; e = new BinaryExpr("or", e, ParseAnd(), l); }
        return e;
    }

    private Expr ParseAnd()
    {
        var e = ParseNot();
        while (Cur.IsName("and")) { var l = Next().Line; e = new BinaryExpr("and", e, ParseNot(), l); }
        return e;
    }

    private Expr ParseNot()
    {
        if (Cur.IsName("not"))
        {
            var l = Next().Line;
            Enter();
            var operand = ParseNot();
            Leave();
            return new UnaryExpr("not", operand, l);
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var line = Cur.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Cur.Kind == Tok.Op && CompareOps.Contains(Cur.Text)) { var op = Next().Text; rest.Add((op, ParseMath1())); }
            else if (Cur.IsName("in")) { _i++; rest.Add(("in", ParseMath1())); }
            else if (Cur.IsName("not") && Peek().IsName("in")) { _i += 2; rest.Add(("notin", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    private Expr ParseMath1()
    {
        var e = ParseConcat();
        while (Cur.IsOp("+") || Cur.IsOp("-")) { var t = Next(); e = new BinaryExpr(t.Text, e, ParseConcat(), t.Line); }
        return e;
    }

    private Expr ParseConcat()
    {
        var e = ParseMath2();
        while (Cur.IsOp("~")) { var t = Next(); e = new BinaryExpr("~", e, ParseMath2(), t.Line); }
        return e;
    }

    private Expr ParseMath2()
    {
        var e = ParsePow();
        while (Cur.IsOp("*") || Cur.IsOp("/") || Cur.IsOp("//") || Cur.IsOp("%"))
        {
            var t = Next();
            e = new BinaryExpr(t.Text, e, ParsePow(), t.Line);
        }
        return e;
    }

    private Expr ParsePow()
    {
        var e = ParseUnary(withFilter: true);
        while (Cur.IsOp("**")) { var t = Next(); e = new BinaryExpr("**", e, ParseUnary(withFilter: true), t.Line); }
        return e;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        var line = Cur.Line;
        Expr e;
        if (Cur.IsOp("-")) { _i++; e = new UnaryExpr("-", ParseUnary(false), line); }
        else if (Cur.IsOp("+")) { _i++; e = new UnaryExpr("+", ParseUnary(false), line); }
        else e = ParsePrimary();
        e = ParsePostfix(e);
        if (withFilter) e = ParseFilterExpr(e);
        Leave();
        return e;
    }

    private Expr ParsePrimary()
    {
        var t = Cur;
        switch (t.Kind)
        {
            case Tok.Name:
                _i++;
                switch (t.Text)
                {
                    case "true" or "True": return new ConstExpr(BoolValue.True, t.Line);
                    case "false" or "False": return new ConstExpr(BoolValue.False, t.Line);
                    case "none" or "None": return new ConstExpr(NoneValue.Instance, t.Line);
                }
                foreach (var s in _macroScopes) s.Add(t.Text);
                return new NameExpr(t.Text, t.Line);
            case Tok.Str:
                _i++;
                var text = t.Text;
                while (Cur.Kind == Tok.Str) text += Next().Text;
                return new ConstExpr(StrValue.Of(text), t.Line);
            case Tok.Int or Tok.Float:
                _i++;
                return new ConstExpr(t.Literal!, t.Line);
            case Tok.Op when t.Text == "(":
                _i++;
                if (Cur.IsOp(")")) { _i++; return new ListExpr([], true, t.Line); }
                var inner = ParseTuple(withCondExpr: true);
                if (inner is ListExpr { IsTuple: true } && _t[_i - 1].IsOp(",")) { }
                ExpectOp(")");
                return inner;
            case Tok.Op when t.Text == "[":
                _i++;
                var items = new List<Expr>();
                while (!Cur.IsOp("]"))
                {
                    if (items.Count > 0) ExpectOp(",");
                    if (Cur.IsOp("]")) break;
                    items.Add(ParseExpression());
                }
                _i++;
                return new ListExpr(items, false, t.Line);
            case Tok.Op when t.Text == "{":
                _i++;
                var pairs = new List<(Expr, Expr)>();
                while (!Cur.IsOp("}"))
                {
                    if (pairs.Count > 0) ExpectOp(",");
                    if (Cur.IsOp("}")) break;
                    var k = ParseExpression();
                    ExpectOp(":");
                    pairs.Add((k, ParseExpression()));
                }
                _i++;
                return new DictExpr(pairs, t.Line);
            default:
                throw Error($"unexpected '{Describe(t)}'");
        }
    }

    private Expr ParsePostfix(Expr e)
    {
        while (true)
        {
            var t = Cur;
            if (t.IsOp("."))
            {
                _i++;
                if (Cur.Kind == Tok.Name) e = new AttrExpr(e, Next().Text, t.Line);
                else if (Cur.Kind == Tok.Int) e = new ItemExpr(e, new ConstExpr(Next().Literal!, t.Line), t.Line);
                else throw Error("expected name or number after '.'");
            }
            else if (t.IsOp("[")) { _i++; e = ParseSubscript(e, t.Line); }
            else if (t.IsOp("(")) e = new CallExpr(e, ParseArgs(), t.Line);
            else return e;
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr? start = null, stop = null, step = null;
        if (!Cur.IsOp(":")) start = ParseExpression();
        if (!Cur.IsOp(":"))
        {
            if (Cur.IsOp(","))
            {
                var items = new List<Expr> { start! };
                while (Cur.IsOp(",")) { _i++; if (Cur.IsOp("]")) break; items.Add(ParseExpression()); }
                ExpectOp("]");
                return new ItemExpr(target, new ListExpr(items, true, line), line);
            }
            ExpectOp("]");
            return new ItemExpr(target, start!, line);
        }
        _i++;
        if (!Cur.IsOp("]") && !Cur.IsOp(":")) stop = ParseExpression();
        if (Cur.IsOp(":"))
        {
            _i++;
            if (!Cur.IsOp("]")) step = ParseExpression();
        }
        ExpectOp("]");
        return new SliceExpr(target, start, stop, step, line);
    }

    private ArgList ParseArgs()
    {
        ExpectOp("(");
        var pos = new List<Expr>();
        var kw = new List<(string, Expr)>();
        Expr? star = null, starStar = null;
        var first = true;
        while (!Cur.IsOp(")"))
        {
            if (!first) { ExpectOp(","); if (Cur.IsOp(")")) break; }
            first = false;
            if (Cur.IsOp("*")) { _i++; star = ParseExpression(); }
            else if (Cur.IsOp("**")) { _i++; starStar = ParseExpression(); }
            else if (Cur.Kind == Tok.Name && Peek().IsOp("="))
            {
                var n = Next().Text;
                _i++;
                kw.Add((n, ParseExpression()));
            }
            else
            {
                if (kw.Count > 0 || starStar != null) throw Error("positional argument follows keyword argument");
                pos.Add(ParseExpression());
            }
        }
        _i++;
        return new ArgList(pos, kw, star, starStar);
    }

    private Expr ParseFilterExpr(Expr e)
    {
        while (true)
        {
            if (Cur.IsOp("|")) { _i++; e = ParseFilter(e); }
            else if (Cur.IsName("is")) { _i++; e = ParseTest(e); }
            else if (Cur.IsOp("(")) e = new CallExpr(e, ParseArgs(), Cur.Line);
            else return e;
        }
    }

    private FilterExpr ParseFilter(Expr? target)
    {
        var line = Cur.Line;
        var name = ExpectName();
        while (Cur.IsOp(".")) { _i++; name += "." + ExpectName(); }
        var args = Cur.IsOp("(") ? ParseArgs() : ArgList.Empty;
        return new FilterExpr(target, name, args, line);
    }

    private Expr ParseTest(Expr target)
    {
        var line = Cur.Line;
        var negated = false;
        if (Cur.IsName("not")) { _i++; negated = true; }
        string name;
        if (Cur.Kind == Tok.Name) name = Next().Text;
        else if (Cur.Kind == Tok.Op && CompareOps.Contains(Cur.Text)) name = Next().Text;
        else throw Error("expected test name");
        while (Cur.IsOp(".")) { _i++; name += "." + ExpectName(); }
        ArgList args;
        if (Cur.IsOp("(")) args = ParseArgs();
        else if ((Cur.Kind is Tok.Name or Tok.Str or Tok.Int or Tok.Float || Cur.IsOp("[") || Cur.IsOp("{"))
                 && !Cur.IsName("else") && !Cur.IsName("or") && !Cur.IsName("and"))
        {
            if (Cur.IsName("is")) throw Error("You cannot chain multiple tests with is");
            var arg = ParsePostfix(ParsePrimary());
            args = new ArgList([arg], [], null, null);
        }
        else args = ArgList.Empty;
        return new TestExpr(target, name, args, negated, line);
    }
}
