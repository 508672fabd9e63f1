namespace Sovra.Text.Templates;

/// <summary>Base of every error a chat template can raise while it is parsed or rendered.</summary>
public abstract class TemplateException(string message, int line) : Exception(line > 0 ? $"{message} (template line {line})" : message)
{
    /// <summary>1-based line of the template where the error arose; 0 when unknown.</summary>
    public int Line { get; } = line;
}

/// <summary>The template text is not valid Jinja (or uses a filter / test / statement Jinja does not know).</summary>
public sealed class TemplateSyntaxException(string message, int line) : TemplateException(message, line);

/// <summary>Rendering failed the way Jinja2 would fail: a type error, an undefined value used, a bad argument.</summary>
public class TemplateRuntimeException(string message, int line) : TemplateException(message, line);

/// <summary>The template itself called <c>raise_exception(message)</c>, typically to reject a conversation shape.</summary>
public sealed class TemplateRaisedException(string templateMessage, int line) : TemplateRuntimeException(templateMessage, line)
{
    public string TemplateMessage { get; } = templateMessage;
}

/// <summary>The template tried to reach something the sandbox forbids (private attributes, mutating methods).</summary>
public sealed class TemplateSecurityException(string message, int line) : TemplateRuntimeException(message, line);

/// <summary>Which sandbox limit a hostile or runaway template hit.</summary>
public enum TemplateLimit { Steps, OutputSize, StringSize, RecursionDepth, NestingDepth, RangeSize, StackSpace }

/// <summary>The template exceeded one of the <see cref="TemplateLimits"/>; rendering was stopped.</summary>
public sealed class TemplateLimitException(TemplateLimit limit, string message, int line) : TemplateException(message, line)
{
    public TemplateLimit Limit { get; } = limit;
}
