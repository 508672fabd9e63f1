using System.Diagnostics;
using Sovra.Text.Templates;

namespace Sovra.Text.Tests.Templates;

/// <summary>Hostile templates are stopped with a typed error, quickly, whatever they try.</summary>
public class TemplateSandboxTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static T Stopped<T>(string source, TemplateLimits? limits = null) where T : TemplateException
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.ThrowsAny<T>(() => ChatTemplate.Parse(source, limits).Render(new ChatRenderRequest()));
        Assert.True(sw.Elapsed < Bound, $"took {sw.Elapsed}");
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    [Fact]
    public void Endless_recursion_hits_the_recursion_cap()
    {
        var e = Stopped<TemplateLimitException>("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Equal(TemplateLimit.RecursionDepth, e.Limit);
        Assert.Contains("64", e.Message);
    }

    [Fact]
    public void Recursion_allowed_beyond_the_stack_is_stopped_by_the_stack_guard_not_a_crash()
    {
        var limits = new TemplateLimits { MaxRecursionDepth = int.MaxValue, MaxSteps = long.MaxValue };
        var e = Stopped<TemplateLimitException>("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", limits);
        Assert.Equal(TemplateLimit.StackSpace, e.Limit);
    }

    [Fact]
    public void Nested_huge_loops_exhaust_the_step_budget()
    {
        // A smaller budget than the default keeps the test quick on a loaded CI machine; the mechanism is the same.
        var limits = new TemplateLimits { MaxSteps = 2_000_000 };
        var e = Stopped<TemplateLimitException>("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits);
        Assert.Equal(TemplateLimit.Steps, e.Limit);
    }

    [Fact]
    public void Loop_that_builds_nothing_still_pays_per_iteration()
    {
        var limits = new TemplateLimits { MaxSteps = 10_000 };
        var e = Stopped<TemplateLimitException>("{% for i in range(100000) %}{% endfor %}", limits);
        Assert.Equal(TemplateLimit.Steps, e.Limit);
    }

    [Fact]
    public void Range_beyond_the_cap_is_refused_as_jinja2s_sandbox_does()
    {
        var e = Stopped<TemplateLimitException>("{% for i in range(100001) %}{% endfor %}");
        Assert.Equal(TemplateLimit.RangeSize, e.Limit);
    }

    [Fact]
    public void Enormous_output_is_cut_off()
    {
        var limits = new TemplateLimits { MaxOutputChars = 1_000_000 };
        var e = Stopped<TemplateLimitException>("{% for i in range(1000) %}{{ 'x' * 10000 }}{% endfor %}", limits);
        Assert.Equal(TemplateLimit.OutputSize, e.Limit);
    }

    [Fact]
    public void Doubling_a_string_is_stopped_at_the_string_cap()
    {
        var e = Stopped<TemplateLimitException>(
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}");
        Assert.Equal(TemplateLimit.StringSize, e.Limit);
    }

    [Theory]
    [InlineData("{{ 'x' * 10000000000 }}", TemplateLimit.StringSize)]
    [InlineData("{{ ([1] * 1000000000)|length }}", TemplateLimit.RangeSize)]
    [InlineData("{% set s %}{% for i in range(99999) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}", TemplateLimit.OutputSize)]
    public void Big_values_are_refused_before_they_are_built(string source, TemplateLimit limit)
    {
        Assert.Equal(limit, Stopped<TemplateLimitException>(source).Limit);
    }

    [Fact]
    public void Deeply_nested_expression_is_rejected_by_the_parser()
    {
        var src = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(src));
        Assert.Equal(TemplateLimit.NestingDepth, e.Limit);
        Assert.True(sw.Elapsed < Bound);
    }

    [Fact]
    public void Deeply_nested_blocks_are_rejected_by_the_parser()
    {
        var src = string.Concat(Enumerable.Repeat("{% if true %}", 2000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 2000));
        Assert.Equal(TemplateLimit.NestingDepth, Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(src)).Limit);
    }

    [Fact]
    public void Nesting_limit_is_overridable()
    {
        var src = string.Concat(Enumerable.Repeat("{% if true %}", 20)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 20));
        Assert.Equal("x", ChatTemplate.Parse(src).Render(new ChatRenderRequest()));
        Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(src, new TemplateLimits { MaxNestingDepth = 10 }));
    }

    [Theory]
    [InlineData("{{ ''.__class__.__mro__ }}")]
    [InlineData("{{ ''.__class__.__mro__[1].__subclasses__() }}")]
    [InlineData("{{ range.__globals__['os'] }}")]
    [InlineData("{{ messages.__class__.__base__ }}")]
    [InlineData("{% set l = [] %}{{ l.append(1) }}")]
    [InlineData("{% set d = {} %}{{ d.update({'a': 1}) }}")]
    [InlineData("{{ namespace.__init__.__globals__ }}")]
    public void Reaching_for_internals_is_a_security_error(string source)
    {
        Stopped<TemplateSecurityException>(source);
    }

    [Theory]
    [InlineData("{{ ''.GetType() }}")]
    [InlineData("{{ ''.GetType().Assembly }}")]
    [InlineData("{{ messages.GetType }}{{ messages.GetType() }}")]
    [InlineData("{{ System.IO.File.ReadAllText('/etc/passwd') }}")]
    [InlineData("{{ raise_exception.Method }}{{ raise_exception.Method.Name }}")]
    public void Dotnet_members_do_not_exist(string source)
    {
        Stopped<TemplateRuntimeException>(source);
    }

    [Theory]
    [InlineData("{% include 'x.jinja' %}")]
    [InlineData("{% import 'x.jinja' as x %}")]
    [InlineData("{% extends 'base.jinja' %}")]
    public void Templates_cannot_load_files(string source)
    {
        Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(source));
    }

    [Fact]
    public void Raise_exception_is_its_own_type_with_the_templates_message()
    {
        var e = Stopped<TemplateRaisedException>("{{ raise_exception('Conversation roles must alternate') }}");
        Assert.Equal("Conversation roles must alternate", e.TemplateMessage);
    }

    [Fact]
    public void Syntax_errors_carry_the_line()
    {
        var e = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("line1\nline2\n{{ 1 + }}"));
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Default_limits_are_documented_values()
    {
        var d = TemplateLimits.Default;
        Assert.Equal(20_000_000, d.MaxSteps);
        Assert.Equal(16 * 1024 * 1024, d.MaxOutputChars);
        Assert.Equal(16 * 1024 * 1024, d.MaxStringChars);
        Assert.Equal(64, d.MaxRecursionDepth);
        Assert.Equal(128, d.MaxNestingDepth);
        Assert.Equal(100_000, d.MaxRangeItems);
    }
}
