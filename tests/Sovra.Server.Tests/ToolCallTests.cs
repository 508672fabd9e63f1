using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sovra.Server.Generation;
using Sovra.Server.Tests.Fakes;

namespace Sovra.Server.Tests;

/// <summary>Qwen3 / Hermes tool calls: the streaming parser, the prompt rendering, and the wire shapes.</summary>
public sealed class ToolCallParserTests
{
    private const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>";

    private static (string Content, List<ToolCall> Calls) Run(string text, int piece)
    {
        var s = new ToolCallStream();
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        for (var i = 0; i < text.Length; i += piece)
        {
            var (c, k) = s.Push(text.Substring(i, Math.Min(piece, text.Length - i)));
            content.Append(c);
            calls.AddRange(k);
        }
        content.Append(s.Flush());
        return (content.ToString(), calls);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void A_call_becomes_name_and_json_arguments_in_pieces_of_any_size(int piece)
    {
        var (content, calls) = Run(Call, piece);
        Assert.Equal("", content);
        var call = Assert.Single(calls);
        Assert.Equal(0, call.Index);
        Assert.Equal("get_weather", call.Name);
        Assert.StartsWith("call_", call.Id);
        var args = JsonDocument.Parse(call.Arguments).RootElement;
        Assert.Equal("Paris", args.GetProperty("city").GetString());
        Assert.Equal(2, args.GetProperty("days").GetInt32());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Text_before_and_two_calls_keep_their_order_and_indexes(int piece)
    {
        var text = "Let me check.\n\n" + Call + "\n" + Call.Replace("get_weather", "get_time") + "\n";
        var (content, calls) = Run(text, piece);
        Assert.Equal("Let me check.", content.TrimEnd());
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal([0, 1], calls.Select(c => c.Index));
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"f\", \"arguments\": {oops}}</tool_call>")]
    [InlineData("<tool_call>[1, 2]</tool_call>")]
    [InlineData("<tool_call>{\"arguments\": {}}</tool_call>")]
    [InlineData("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}")]
    [InlineData("a < b and <tool")]
    public void Malformed_or_unfinished_output_falls_back_to_content(string text)
    {
        foreach (var piece in new[] { 1, 4, 1000 })
        {
            var (content, calls) = Run(text, piece);
            Assert.Empty(calls);
            Assert.Equal(text, content);
        }
    }

    [Fact]
    public void String_arguments_pass_through_and_missing_ones_are_an_empty_object()
    {
        Assert.Equal("{\"a\":1}", ToolCallStream.TryParse("{\"name\": \"f\", \"arguments\": \"{\\\"a\\\":1}\"}", 0)!.Arguments);
        Assert.Equal("{}", ToolCallStream.TryParse("{\"name\": \"f\"}", 0)!.Arguments);
    }
}

/// <summary>The real Qwen3 template renders offered tools, the assistant's calls and the tool's answer.</summary>
[Collection("engine")]
public sealed class ToolRenderingTests(EngineNode node)
{
    [Fact]
    public void Tools_calls_and_tool_results_reach_the_prompt()
    {
        var tools = JsonDocument.Parse("""[{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""").RootElement;
        var calls = JsonDocument.Parse("""[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]""").RootElement;
        var messages = new List<Models.ChatMessage>
        {
            new("user", "Weather in Paris?"),
            new("assistant", null) { ToolCalls = calls },
            new("tool", "sunny, 21C") { ToolCallId = "call_1" },
        };
        var text = node.Model.RenderChat(messages, new Models.ChatPromptOptions(tools, null)).Text;
        Assert.Contains("<tools>", text);
        Assert.Contains("\"name\": \"get_weather\"", text);
        Assert.Contains("<tool_call>", text);
        Assert.Contains("Paris", text);
        Assert.Contains("<tool_response>\nsunny, 21C\n</tool_response>", text);
        var without = node.Model.RenderChat([new("user", "Weather in Paris?")], new Models.ChatPromptOptions(null, null)).Text;
        Assert.DoesNotContain("<tools>", without);
    }
}

/// <summary>Through the server over the scripted model, which answers with a tool call.</summary>
public sealed class ToolCallWireTests
{
    private const string Script = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    private static readonly object[] Tools =
        [new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } }];

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static Dictionary<string, object?> Chat(bool stream, object? tools, object? toolChoice = null)
    {
        var d = new Dictionary<string, object?> { ["model"] = "caller", ["messages"] = new[] { new { role = "user", content = "Weather?" } }, ["stream"] = stream };
        if (tools != null) d["tools"] = tools;
        if (toolChoice != null) d["tool_choice"] = toolChoice;
        return d;
    }

    private static Task<TestNode> Start(string name) => TestNode.StartAsync(name, new Dictionary<string, string> { ["caller"] = Script });

    [Fact]
    public async Task A_whole_answer_carries_tool_calls_and_finish_reason_tool_calls()
    {
        await using var node = await Start("tools-whole");
        var body = await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(false, Tools)))).Content.ReadFromJsonAsync<JsonElement>();
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.StartsWith("call_", call.GetProperty("id").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("Paris", JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task A_stream_sends_the_call_as_delta_tool_calls_with_an_index()
    {
        await using var node = await Start("tools-stream");
        var (events, done) = await SseReader.ReadAllAsync(await node.Http.PostAsync("/v1/chat/completions", Json(Chat(true, Tools))));
        Assert.True(done);
        var deltas = events.Select(e => e.GetProperty("choices")[0]).ToList();
        var calls = deltas.Where(c => c.GetProperty("delta").TryGetProperty("tool_calls", out _))
            .SelectMany(c => c.GetProperty("delta").GetProperty("tool_calls").EnumerateArray()).ToList();
        var call = Assert.Single(calls);
        Assert.Equal(0, call.GetProperty("index").GetInt32());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("tool_calls", deltas[^1].GetProperty("finish_reason").GetString());
        Assert.DoesNotContain(deltas, c => c.GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Contains("tool_call"));
    }

    [Fact]
    public async Task Without_tools_or_with_tool_choice_none_the_text_stays_content()
    {
        await using var node = await Start("tools-none");
        foreach (var request in new[] { Chat(false, null), Chat(false, Tools, "none") })
        {
            var choice = (await (await node.Http.PostAsync("/v1/chat/completions", Json(request))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0];
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(Script, choice.GetProperty("message").GetProperty("content").GetString());
            Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
        }
    }

    [Fact]
    public async Task A_tool_choice_naming_a_missing_tool_is_a_400()
    {
        await using var node = await Start("tools-bad");
        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(false, Tools, new { type = "function", function = new { name = "nope" } })));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("nope", await r.Content.ReadAsStringAsync());
    }
}
