using System.Text.Json;

namespace Sovra.Text.Templates;

/// <summary>
/// A parsed chat template (the Jinja text in a GGUF's <c>tokenizer.chat_template</c> or a Hugging Face
/// <c>chat_template.jinja</c>). Rendering matches Python Jinja2 as Hugging Face's apply_chat_template runs it
/// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls, HF's tojson, raise_exception,
/// strftime_now), inside the sandbox limits given at parse time. A parsed template is immutable and
/// may be rendered from many threads at once.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Node> _body;

    private ChatTemplate(string source, List<Node> body, TemplateLimits limits)
    {
        Source = source;
        _body = body;
        Limits = limits;
    }

    public string Source { get; }
    public TemplateLimits Limits { get; }

    /// <summary>Parses template text; throws <see cref="TemplateSyntaxException"/> (or a nesting <see cref="TemplateLimitException"/>).</summary>
    public static ChatTemplate Parse(string source, TemplateLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        limits ??= TemplateLimits.Default;
        try
        {
            return new ChatTemplate(source, Parser.Parse(source, limits), limits);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateLimitException(TemplateLimit.StackSpace, "template nests too deeply for the available stack", 0);
        }
    }

    /// <summary>Renders a conversation to the prompt text; throws a <see cref="TemplateException"/> subtype on failure.</summary>
    public string Render(ChatRenderRequest request) => Render(request, out _);

    /// <summary>As <see cref="Render(ChatRenderRequest)"/>, also reporting the evaluation steps used (see <see cref="TemplateLimits.MaxSteps"/>).</summary>
    internal string Render(ChatRenderRequest request, out long steps)
    {
        ArgumentNullException.ThrowIfNull(request);
        var vars = new Dictionary<string, Value>(StringComparer.Ordinal)
        {
            ["messages"] = new ListValue(request.Messages.Select(m => m.ToValue()).ToList()),
            ["tools"] = request.Tools is { } t && t.ValueKind != JsonValueKind.Null && t.ValueKind != JsonValueKind.Undefined ? PyJson.FromJson(t) : NoneValue.Instance,
            ["documents"] = NoneValue.Instance,
            ["add_generation_prompt"] = BoolValue.Of(request.AddGenerationPrompt),
        };
        if (request.BosToken != null) vars["bos_token"] = StrValue.Of(request.BosToken);
        if (request.EosToken != null) vars["eos_token"] = StrValue.Of(request.EosToken);
        if (request.Variables != null)
            foreach (var (k, v) in request.Variables) vars[k] = PyJson.FromJson(v);
        var interpreter = new Interpreter(Limits, vars, request.Now ?? DateTimeOffset.Now);
        var text = interpreter.Render(_body);
        steps = interpreter.Steps;
        return text;
    }

    /// <summary>
    /// Renders with exactly the given top-level variables (a JSON object: name → value), as Jinja2's
    /// <c>template.render(**variables)</c> would. <see cref="Render(ChatRenderRequest)"/> is the usual entry point.
    /// </summary>
    public string RenderVariables(JsonElement variables, DateTimeOffset? now = null)
    {
        if (variables.ValueKind != JsonValueKind.Object) throw new ArgumentException("variables must be a JSON object", nameof(variables));
        var vars = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var p in variables.EnumerateObject()) vars[p.Name] = PyJson.FromJson(p.Value);
        return RenderVariables(vars, now ?? DateTimeOffset.Now);
    }

    private string RenderVariables(Dictionary<string, Value> vars, DateTimeOffset now) =>
        new Interpreter(Limits, vars, now).Render(_body);
}
