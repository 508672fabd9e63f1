namespace Sovra.Text.Templates;

/// <summary>
/// Jinja2 rejects a template that uses an unknown filter or test when it compiles it, except where
/// the use sits directly inside an if-statement or an inline if-expression: there the error is
/// deferred until the filter actually runs. This walk applies the same rule to the parsed tree.
/// </summary>
internal static class NameCheck
{
    public static void Run(List<Node> body) => Nodes(body, soft: false);

    private static void Nodes(IEnumerable<Node> nodes, bool soft)
    {
        foreach (var n in nodes) Node(n, soft);
    }

    private static void Node(Node n, bool soft)
    {
        // Long operator chains (a ~ b ~ c ...) nest the tree without nesting the source; the runtime guard
        // turns a tree too deep for the stack into a TemplateLimitException in ChatTemplate.Parse.
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (n)
        {
            case OutputNode o: Expr(o.Expr, soft); break;
            case IfNode i:
                foreach (var (test, body) in i.Branches) { Expr(test, true); Nodes(body, true); }
                if (i.Else != null) Nodes(i.Else, true);
                break;
            case ForNode f:
                Expr(f.Iter, soft);
                if (f.Filter != null) Expr(f.Filter, false);
                Nodes(f.Body, false);
                if (f.Else != null) Nodes(f.Else, false);
                break;
            case SetNode s: Expr(s.Value, soft); break;
            case SetBlockNode sb:
                Nodes(sb.Body, false);
                foreach (var fe in sb.Filters) Expr(fe, soft);
                break;
            case MacroNode m:
                foreach (var (_, d) in m.Params) if (d != null) Expr(d, false);
                Nodes(m.Body, false);
                break;
            case CallBlockNode cb:
                Expr(cb.Call, soft);
                Nodes(cb.Body, false);
                break;
            case FilterBlockNode fb:
                foreach (var fe in fb.Filters) Expr(fe, soft);
                Nodes(fb.Body, false);
                break;
            case ScopeNode sn: Nodes(sn.Body, false); break;
            case WithNode w:
                foreach (var (_, v) in w.Assignments) Expr(v, soft);
                Nodes(w.Body, false);
                break;
        }
    }

    private static void Args(ArgList a, bool soft)
    {
        foreach (var x in a.Positional) Expr(x, soft);
        foreach (var (_, x) in a.Keywords) Expr(x, soft);
        if (a.Star != null) Expr(a.Star, soft);
        if (a.StarStar != null) Expr(a.StarStar, soft);
    }

    private static void Expr(Expr e, bool soft)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (e)
        {
            case AttrExpr a: Expr(a.Target, soft); break;
            case ItemExpr i: Expr(i.Target, soft); Expr(i.Index, soft); break;
            case SliceExpr s:
                Expr(s.Target, soft);
                foreach (var x in new[] { s.Start, s.Stop, s.Step }) if (x != null) Expr(x, soft);
                break;
            case ListExpr l: foreach (var x in l.Items) Expr(x, soft); break;
            case DictExpr d: foreach (var (k, v) in d.Items) { Expr(k, soft); Expr(v, soft); } break;
            case UnaryExpr u: Expr(u.Operand, soft); break;
            case BinaryExpr b: Expr(b.Left, soft); Expr(b.Right, soft); break;
            case CompareExpr c:
                Expr(c.First, soft);
                foreach (var (_, r) in c.Rest) Expr(r, soft);
                break;
            case CondExpr c:
                Expr(c.Test, true);
                Expr(c.Then, true);
                if (c.Else != null) Expr(c.Else, true);
                break;
            case CallExpr c: Expr(c.Callee, soft); Args(c.Args, soft); break;
            case FilterExpr f:
                if (!soft && !Filters.IsKnown(f.Name)) throw new TemplateSyntaxException($"No filter named '{f.Name}'.", f.Line);
                if (f.Target != null) Expr(f.Target, soft);
                Args(f.Args, soft);
                break;
            case TestExpr t:
                if (!soft && !JinjaTests.IsKnown(t.Name)) throw new TemplateSyntaxException($"No test named '{t.Name}'.", t.Line);
                Expr(t.Target, soft);
                Args(t.Args, soft);
                break;
        }
    }
}
