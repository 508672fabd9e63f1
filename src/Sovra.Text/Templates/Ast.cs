namespace Sovra.Text.Templates;

// ---- expressions ----

internal abstract record Expr(int Line);

internal sealed record ConstExpr(Value Value, int Line) : Expr(Line);
internal sealed record NameExpr(string Name, int Line) : Expr(Line);
internal sealed record AttrExpr(Expr Target, string Attr, int Line) : Expr(Line);
internal sealed record ItemExpr(Expr Target, Expr Index, int Line) : Expr(Line);
internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);
internal sealed record ListExpr(List<Expr> Items, bool IsTuple, int Line) : Expr(Line);
internal sealed record DictExpr(List<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);
internal sealed record UnaryExpr(string Op, Expr Operand, int Line) : Expr(Line);
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line) : Expr(Line);
internal sealed record CompareExpr(Expr First, List<(string Op, Expr Right)> Rest, int Line) : Expr(Line);
internal sealed record CondExpr(Expr Test, Expr Then, Expr? Else, int Line) : Expr(Line);

/// <summary>Call arguments as written: positional, keyword, *args and **kwargs.</summary>
internal sealed record ArgList(List<Expr> Positional, List<(string Name, Expr Value)> Keywords, Expr? Star, Expr? StarStar)
{
    public static readonly ArgList Empty = new([], [], null, null);
}

internal sealed record CallExpr(Expr Callee, ArgList Args, int Line) : Expr(Line);
internal sealed record FilterExpr(Expr? Target, string Name, ArgList Args, int Line) : Expr(Line);
internal sealed record TestExpr(Expr Target, string Name, ArgList Args, bool Negated, int Line) : Expr(Line);

// ---- assignment targets ----

internal abstract record Target(int Line);
internal sealed record NameTarget(string Name, int Line) : Target(Line);
internal sealed record TupleTarget(List<Target> Items, int Line) : Target(Line);
internal sealed record NamespaceAttrTarget(string Name, string Attr, int Line) : Target(Line);

// ---- statements ----

internal abstract record Node(int Line);

internal sealed record TextNode(string Text, int Line) : Node(Line);
internal sealed record OutputNode(Expr Expr, int Line) : Node(Line);
internal sealed record IfNode(List<(Expr Test, List<Node> Body)> Branches, List<Node>? Else, int Line) : Node(Line);
internal sealed record ForNode(Target Target, Expr Iter, Expr? Filter, List<Node> Body, List<Node>? Else, bool Recursive, int Line) : Node(Line);
internal sealed record SetNode(Target Target, Expr Value, int Line) : Node(Line);
internal sealed record SetBlockNode(Target Target, List<Node> Body, List<FilterExpr> Filters, int Line) : Node(Line);
internal sealed record MacroNode(string Name, List<(string Name, Expr? Default)> Params, List<Node> Body, bool UsesCaller, bool UsesVarargs, bool UsesKwargs, int Line) : Node(Line);
internal sealed record CallBlockNode(CallExpr Call, List<(string Name, Expr? Default)> CallerParams, List<Node> Body, int Line) : Node(Line);
internal sealed record FilterBlockNode(List<FilterExpr> Filters, List<Node> Body, int Line) : Node(Line);
internal sealed record BreakNode(int Line) : Node(Line);
internal sealed record ContinueNode(int Line) : Node(Line);
internal sealed record ScopeNode(List<Node> Body, int Line) : Node(Line);
internal sealed record WithNode(List<(Target Target, Expr Value)> Assignments, List<Node> Body, int Line) : Node(Line);
