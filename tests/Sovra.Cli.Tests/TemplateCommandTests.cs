using System.Text;
using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Cli.Tests;

/// <summary>
/// sovra template prints exactly what Python's Jinja2 renders: the expected text comes from the golden file that
/// tools/reference/scripts/tmpl-render.py writes (and Sovra.Text.Tests checks against a fresh Jinja2 run).
/// </summary>
public class TemplateCommandTests
{
    private static readonly string Dir = RepoPaths.Scratch(nameof(TemplateCommandTests));
    private static string Templates => Path.Combine(RepoPaths.Shared, "templates");
    private static readonly Lazy<JsonDocument> Suite = new(() => JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Data", "conversations.json"))));
    private static readonly Lazy<JsonDocument> Golden = new(() => JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepoPaths.Root, "tests", "Sovra.Text.Tests", "Templates", "Golden", "reference.json"))));

    private static ExternalProcess.Result Sovra(string? stdin, params string[] args) =>
        ExternalProcess.Run(Path.Combine(RepoPaths.Root, "sovra"), args, stdin, timeout: TimeSpan.FromMinutes(5));

    private static JsonElement Case(string name) =>
        Suite.Value.RootElement.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static string Expected(string template, string @case) =>
        Golden.Value.RootElement.GetProperty(template).GetProperty(@case).GetProperty("out").GetString()!;

    /// <summary>Writes the case as an OpenAI-style request body {messages, tools?} and returns its path.</summary>
    private static string Conversation(string @case)
    {
        var c = Case(@case);
        var body = new Dictionary<string, JsonElement> { ["messages"] = c.GetProperty("messages") };
        if (c.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.True) body["tools"] = Suite.Value.RootElement.GetProperty("tools");
        var path = Path.Combine(Dir, @case + ".json");
        File.WriteAllText(path, JsonSerializer.Serialize(body));
        return path;
    }

    private static string[] Common => ["--bos-token", "<s>", "--eos-token", "</s>", "--now", "2026-01-15T10:30:00"];

    [Theory]
    [InlineData("Qwen-Qwen3-0.6B.jinja", "tool_call_dict_args")]
    [InlineData("openai-gpt-oss-120b.jinja", "parallel_tool_calls")]
    [InlineData("deepseek-ai-DeepSeek-V3.1.jinja", "multi_turn")]
    [InlineData("meta-llama-Llama-3.2-3B-Instruct.jinja", "unicode")]
    public void Template_file_output_is_byte_identical_to_jinja2(string template, string @case)
    {
        var r = Sovra(null, ["template", "--template", Path.Combine(Templates, template), "--messages", Conversation(@case), "--add-generation-prompt", .. Common]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected(template, @case), r.Stdout);
    }

    [Fact]
    public void Variables_reach_the_template()
    {
        var r = Sovra(null, ["template", "-t", Path.Combine(Templates, "Qwen-Qwen3-0.6B.jinja"), "-m", Conversation("thinking_disabled"), "-g", "--var", "enable_thinking=false", .. Common]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected("Qwen-Qwen3-0.6B.jinja", "thinking_disabled"), r.Stdout);
        Assert.EndsWith("<think>\n\n</think>\n\n", r.Stdout);
    }

    [Fact]
    public void Messages_can_come_from_stdin_and_without_generation_prompt()
    {
        var stdin = JsonSerializer.Serialize(Case("no_system_no_prompt").GetProperty("messages"));
        var r = Sovra(stdin, ["template", "-t", Path.Combine(Templates, "Qwen-Qwen2.5-7B-Instruct.jinja"), "-m", "-", .. Common]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected("Qwen-Qwen2.5-7B-Instruct.jinja", "no_system_no_prompt"), r.Stdout);
    }

    [Fact]
    public void Model_gguf_supplies_the_template_and_its_bos_eos_tokens()
    {
        const string template = "meta-llama-Llama-3.1-8B-Instruct.jinja";
        var gguf = Path.Combine(Dir, "llama-template.gguf");
        File.WriteAllBytes(gguf, MinimalGguf(File.ReadAllText(Path.Combine(Templates, template)), ["<unk>", "<s>", "</s>", "hello"], bos: 1, eos: 2));
        var r = Sovra(null, "template", gguf, "-m", Conversation("system_user"), "-g", "--now", "2026-01-15T10:30:00");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected(template, "system_user"), r.Stdout);
        Assert.StartsWith("<s>", r.Stdout);
    }

    [Fact]
    public void Json_output_wraps_the_prompt()
    {
        var r = Sovra(null, ["template", "-t", Path.Combine(Templates, "Qwen-Qwen3-0.6B.jinja"), "-m", Conversation("system_user"), "-g", "--json", .. Common]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected("Qwen-Qwen3-0.6B.jinja", "system_user"), JsonDocument.Parse(r.Stdout).RootElement.GetProperty("prompt").GetString());
    }

    [Fact]
    public void A_template_that_rejects_the_conversation_fails_with_its_message()
    {
        var r = Sovra(null, "template", "-t", Path.Combine(Templates, "google-gemma-2-2b-it.jinja"), "-m", Conversation("system_user"));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.StartsWith("sovra: ", r.Stderr);
        Assert.Contains("System role not supported", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Model_and_template_together_is_a_usage_error()
    {
        var r = Sovra(null, "template", "x.gguf", "-t", "y.jinja", "-m", "z.json");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("sovra: ", r.Stderr);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"nope\": 1}", "expected a JSON array of messages")]
    [InlineData("[1, 2]", "must be a JSON object")]
    public void Bad_messages_files_name_the_problem(string content, string message)
    {
        var path = Path.Combine(Dir, "bad-" + Math.Abs(content.GetHashCode()) + ".json");
        File.WriteAllText(path, content);
        var r = Sovra(null, "template", "-t", Path.Combine(Templates, "Qwen-Qwen3-0.6B.jinja"), "-m", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void Broken_template_and_gguf_without_template_are_clear_errors()
    {
        var bad = Path.Combine(Dir, "broken.jinja");
        File.WriteAllText(bad, "{% for m in messages %}{{ m.content }");
        var r = Sovra(null, "template", "-t", bad, "-m", Conversation("system_user"));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("sovra: ", r.Stderr);

        var gguf = Path.Combine(Dir, "no-template.gguf");
        File.WriteAllBytes(gguf, MinimalGguf(null, ["a"], bos: 0, eos: 0));
        r = Sovra(null, "template", gguf, "-m", Conversation("system_user"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("tokenizer.chat_template", r.Stderr);
    }

    /// <summary>A GGUF v3 file with no tensors: just a vocabulary, BOS/EOS ids and optionally a chat template.</summary>
    private static byte[] MinimalGguf(string? chatTemplate, string[] tokens, uint bos, uint eos)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms, Encoding.UTF8);
        void Str(string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }
        var kvs = new List<Action>
        {
            () => { Str("general.architecture"); w.Write(8u); Str("llama"); },
            () => { Str("tokenizer.ggml.model"); w.Write(8u); Str("gpt2"); },
            () => { Str("tokenizer.ggml.tokens"); w.Write(9u); w.Write(8u); w.Write((ulong)tokens.Length); foreach (var t in tokens) Str(t); },
            () => { Str("tokenizer.ggml.bos_token_id"); w.Write(4u); w.Write(bos); },
            () => { Str("tokenizer.ggml.eos_token_id"); w.Write(4u); w.Write(eos); },
        };
        if (chatTemplate != null) kvs.Add(() => { Str("tokenizer.chat_template"); w.Write(8u); Str(chatTemplate); });
        w.Write("GGUF"u8.ToArray());
        w.Write(3u);
        w.Write(0UL);
        w.Write((ulong)kvs.Count);
        foreach (var kv in kvs) kv();
        while (ms.Length % 32 != 0) w.Write((byte)0);
        w.Flush();
        return ms.ToArray();
    }
}
