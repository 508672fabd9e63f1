namespace Sovra.Text.Templates;

/// <summary>
/// Bounds on the work one template may do, so that a hostile template cannot hang or exhaust a server.
/// The defaults are far above what real chat templates need: over a 200-message tool-using conversation the
/// hungriest template in ../shared/templates uses under 5% of <see cref="MaxSteps"/> (TemplateBudgetTests).
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>Evaluation steps (one per statement, expression node, loop iteration and character-heavy operation chunk) per render.</summary>
    public long MaxSteps { get; init; } = 20_000_000;

    /// <summary>Characters in the rendered prompt (and in any captured block: set-block, macro, filter-block).</summary>
    public int MaxOutputChars { get; init; } = 16 * 1024 * 1024;

    /// <summary>Characters in any single string value built while rendering (concatenation, repetition, join, replace...).</summary>
    public int MaxStringChars { get; init; } = 16 * 1024 * 1024;

    /// <summary>Nested macro calls (recursion).</summary>
    public int MaxRecursionDepth { get; init; } = 64;

    /// <summary>Nesting of statements and expressions in the parsed template.</summary>
    public int MaxNestingDepth { get; init; } = 128;

    /// <summary>Items in a list built at once (range(), list repetition); Jinja2's sandbox allows 100 000 for range().</summary>
    public int MaxRangeItems { get; init; } = 100_000;

    public static TemplateLimits Default { get; } = new();
}
