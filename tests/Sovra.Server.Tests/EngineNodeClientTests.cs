using System.Text.Json;
using Sovra.Engine;
using Sovra.Engine.Generation;
using Sovra.Engine.Sampling;
using Sovra.Server.Tests.Fakes;
using Sovra.TestSupport;

namespace Sovra.Server.Tests;

/// <summary>The `openai` npm package (v6) against the live node with the real engine.</summary>
[Collection("engine")]
public sealed class EngineNodeClientTests(EngineNode node)
{
    private static string NodeModules =>
        Environment.GetEnvironmentVariable("SOVRA_NODE_MODULES") is { Length: > 0 } m ? m : RepoPaths.NodeModules;

    [Fact]
    public void The_openai_npm_client_chats_streams_stops_seeds_and_sees_errors()
    {
        Assert.True(File.Exists(Path.Combine(NodeModules, "openai", "package.json")), $"the openai npm package is not installed under {NodeModules}; run ./test.sh (or scripts/setup/10-reference-npm.sh)");
        var messages = new List<Models.ChatMessage> { new("system", "Be brief."), new("user", "Say something about rivers.") };
        var prompt = node.Model.RenderChat(messages, new Models.ChatPromptOptions(null, null)).Tokens;
        List<int> expected;
        using (var model = LanguageModel.Load(node.ModelPath))
        using (var ctx = model.CreateContext(new ContextOptions { ContextLength = 512, MaxSequences = 1, Threads = 2 }))
            expected = new Generator(model, ctx).Generate(prompt, new Sampler(SamplerSettings.Greedy), new GenerationLimits { MaxTokens = 12 })
                .Select(t => t.Token).Where(t => !node.Model.StopTokens.Contains(t)).ToList();
        var text = node.Model.Tokenizer.Decode(expected.ToArray());
        Assert.True(text.Length >= 4, "the reference said too little");
        var stop = text.Substring(text.Length / 2, 2);

        var script = Path.Combine(AppContext.BaseDirectory, "node", "openai-client.cjs");
        var result = ExternalProcess.Run("node", [script, new Uri(node.BaseAddress, "v1").ToString(), EngineNode.ModelId, stop],
            timeout: TimeSpan.FromSeconds(120), environment: new Dictionary<string, string> { ["NODE_PATH"] = NodeModules });
        Assert.True(result.ExitCode == 0, result.Stderr);
        var o = JsonDocument.Parse(result.Stdout).RootElement;

        Assert.Equal("chat.completion", o.GetProperty("chat").GetProperty("object").GetString());
        Assert.Equal(text, o.GetProperty("chat").GetProperty("content").GetString());
        Assert.Equal(prompt.Count, o.GetProperty("chat").GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Count, o.GetProperty("chat").GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        Assert.Equal(text, o.GetProperty("stream").GetProperty("content").GetString());
        Assert.Equal(expected.Count, o.GetProperty("stream").GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(o.GetProperty("chat").GetProperty("finish").GetString(), o.GetProperty("stream").GetProperty("finish").GetString());

        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], o.GetProperty("stop").GetProperty("content").GetString());
        Assert.Equal("stop", o.GetProperty("stop").GetProperty("finish").GetString());

        var seeds = o.GetProperty("seeds").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal(seeds[0], seeds[1]);

        var lps = o.GetProperty("logprobs").EnumerateArray().ToList();
        Assert.Equal(4, lps.Count);
        Assert.All(lps, t => Assert.Equal(2, t.GetProperty("top").GetInt32()));

        Assert.Equal("text_completion", o.GetProperty("completion").GetProperty("object").GetString());
        Assert.Equal(5, o.GetProperty("completion").GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        Assert.Equal(404, o.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", o.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(400, o.GetProperty("badType").GetProperty("status").GetInt32());
        Assert.Equal("temperature", o.GetProperty("badType").GetProperty("param").GetString());
    }
}
