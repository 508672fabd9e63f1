using System.Text;
using System.Text.Json;
using Sovra.Gateway.Proxy;

namespace Sovra.Gateway.Tests;

/// <summary>The upstream body is spliced from the client's bytes: same meaning, the gateway's few changes, nothing else touched.</summary>
public class RequestBodyTests
{
    private static RequestBody Parse(string json) => new(Encoding.UTF8.GetBytes(json));

    private static JsonElement Upstream(string json, string model, bool askUsage) =>
        JsonDocument.Parse(Parse(json).ForUpstream(model, askUsage)).RootElement.Clone();

    [Fact]
    public void Other_members_pass_byte_for_byte_and_the_model_is_replaced()
    {
        const string messages = "\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9 <b> 1e3\"}]";
        var text = Encoding.UTF8.GetString(Parse("{\"model\":\"m\"," + messages + ",\"temperature\":0.50}").ForUpstream("up/\"x\"", false));
        Assert.Contains(messages, text);
        Assert.Contains("\"temperature\":0.50", text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("up/\"x\"", doc.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void Include_usage_is_switched_on_and_the_clients_other_stream_options_are_kept()
    {
        var up = Upstream("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":[1,2]}}", "u", askUsage: true);
        var so = up.GetProperty("stream_options");
        Assert.True(so.GetProperty("include_usage").GetBoolean());
        Assert.Equal(2, so.GetProperty("x").GetArrayLength());
        Assert.Single(so.EnumerateObject(), p => p.Name == "include_usage");
        Assert.True(Upstream("{\"model\":\"m\",\"stream\":true}", "u", true).GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.True(Upstream("{\"model\":\"m\",\"stream\":true,\"stream_options\":null}", "u", true).GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public void The_fields_the_gateway_reads_are_read_as_before()
    {
        var b = Parse("{\"m\\u006fdel\":\"m1\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":7}");
        Assert.Equal(("m1", true, true, 7L), (b.Model, b.Stream, b.ClientAskedUsage, b.MaxTokens));
        Assert.Null(Parse("{\"model\":\"m\",\"max_completion_tokens\":null,\"max_tokens\":5}").MaxTokens); // present wins, even null
        Assert.Equal(9, Parse("{\"model\":\"m\",\"max_tokens\":5,\"max_completion_tokens\":9}").MaxTokens);
        Assert.False(Parse("{\"model\":\"m\"}").Stream);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"model\":\"m\",\"model\":\"n\"}")]
    [InlineData("{\"model\":\"m\",\"mod\\u0065l\":\"n\"}")]
    [InlineData("{\"model\":3}")]
    [InlineData("{\"model\":\"\"}")]
    [InlineData("{\"model\":\"m\",\"stream\":null}")]
    [InlineData("{\"model\":\"m\",\"max_tokens\":1.5}")]
    [InlineData("{\"model\":\"m\",\"max_tokens\":-1}")]
    [InlineData("{\"model\":\"m\"} {}")]
    [InlineData("{\"model\":\"m\",")]
    public void Bad_bodies_are_refused(string json) => Assert.Throws<BadRequestException>(() => Parse(json));
}
