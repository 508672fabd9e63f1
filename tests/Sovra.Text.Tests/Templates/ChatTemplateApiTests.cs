using System.Text.Json;
using Sovra.Text.Templates;

namespace Sovra.Text.Tests.Templates;

public class ChatTemplateApiTests
{
    private const string Tiny =
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% if m.tool_calls %}{{ m.tool_calls|tojson }}{% endif %}" +
        "{% if m.reasoning_content is defined %}[{{ m.reasoning_content }}]{% endif %}{% endfor %}" +
        "{% if tools %}T{{ tools|length }}{% endif %}{% if add_generation_prompt %}<|assistant|>{% endif %}{{ enable_thinking }}";

    [Fact]
    public void Typed_messages_render_like_the_same_messages_from_json()
    {
        var t = ChatTemplate.Parse(Tiny);
        using var json = JsonDocument.Parse("""
            [{"role":"user","content":"hi"},
             {"role":"assistant","content":"","reasoning_content":"think","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]}]
            """);
        using var calls = JsonDocument.Parse("""[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]""");
        var typed = new[]
        {
            new ChatMessage { Role = "user", Content = "hi" },
            new ChatMessage { Role = "assistant", Content = "", ReasoningContent = "think", ToolCalls = calls.RootElement },
        };
        using var flags = JsonDocument.Parse("false");
        var vars = new Dictionary<string, JsonElement> { ["enable_thinking"] = flags.RootElement };
        var a = t.Render(new ChatRenderRequest { Messages = typed, AddGenerationPrompt = true, Variables = vars });
        var b = t.Render(new ChatRenderRequest { Messages = ChatMessage.ListFromJson(json.RootElement), AddGenerationPrompt = true, Variables = vars });
        Assert.Equal(b, a);
        Assert.Equal("<|user|>hi<|assistant|>[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1}}}][think]<|assistant|>False", a);
    }

    [Fact]
    public void Missing_tools_are_none_and_present_tools_are_a_list()
    {
        var t = ChatTemplate.Parse("{{ tools is none }}{% if tools %}{{ tools[0].function.name }}{% endif %}");
        Assert.Equal("True", t.Render(new ChatRenderRequest()));
        using var tools = JsonDocument.Parse("""[{"type":"function","function":{"name":"get_weather"}}]""");
        Assert.Equal("Falseget_weather", t.Render(new ChatRenderRequest { Tools = tools.RootElement }));
    }

    [Fact]
    public void Bos_and_eos_are_undefined_unless_given()
    {
        var t = ChatTemplate.Parse("{{ bos_token is defined }}{{ bos_token }}|{{ eos_token }}");
        Assert.Equal("False|", t.Render(new ChatRenderRequest()));
        Assert.Equal("True<s>|</s>", t.Render(new ChatRenderRequest { BosToken = "<s>", EosToken = "</s>" }));
    }

    [Fact]
    public void Strftime_now_uses_the_requested_time()
    {
        var t = ChatTemplate.Parse("{{ strftime_now('%d %b %Y') }}");
        Assert.Equal("05 Mar 2026", t.Render(new ChatRenderRequest { Now = new DateTimeOffset(2026, 3, 5, 8, 0, 0, TimeSpan.Zero) }));
    }

    [Fact]
    public void A_parsed_template_renders_from_many_threads()
    {
        var t = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}");
        var results = Enumerable.Range(1, 32).AsParallel().Select(n =>
            t.Render(new ChatRenderRequest { Messages = Enumerable.Range(0, n).Select(_ => new ChatMessage { Content = "x" }).ToList() })).ToList();
        Assert.Equal(Enumerable.Range(1, 32).Select(n => n.ToString()), results);
    }

    [Fact]
    public void Non_object_message_json_is_a_clear_argument_error()
    {
        using var doc = JsonDocument.Parse("[1]");
        var e = Assert.Throws<ArgumentException>(() => ChatMessage.ListFromJson(doc.RootElement));
        Assert.Contains("JSON object", e.Message);
    }
}

public class OpenAIRequestTests
{
    [Fact]
    public void An_openai_body_supplies_messages_tools_and_template_kwargs()
    {
        using var body = JsonDocument.Parse("""
            {"model":"m","messages":[{"role":"user","content":"hi","name":"ana"}],
             "tools":[{"type":"function","function":{"name":"f"}}],
             "chat_template_kwargs":{"enable_thinking":false}}
            """);
        var request = ChatRenderRequest.FromOpenAIRequest(body.RootElement, addGenerationPrompt: false, bosToken: "<s>");
        var t = ChatTemplate.Parse("{{ bos_token }}{{ messages[0].name }}:{{ messages[0].content }} {{ tools[0].function.name }} {{ enable_thinking }} {{ add_generation_prompt }}");
        Assert.Equal("<s>ana:hi f False False", t.Render(request));
    }

    [Theory]
    [InlineData("[]", "JSON object")]
    [InlineData("{}", "\"messages\" array")]
    [InlineData("{\"messages\":[],\"tools\":{}}", "\"tools\" must be an array")]
    [InlineData("{\"messages\":[],\"chat_template_kwargs\":[]}", "must be an object")]
    [InlineData("{\"messages\":[\"x\"]}", "JSON object")]
    public void Malformed_bodies_are_argument_errors_naming_the_field(string json, string message)
    {
        using var body = JsonDocument.Parse(json);
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => ChatRenderRequest.FromOpenAIRequest(body.RootElement)).Message);
    }
}
