using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Sovra.Gateway.Tests.Support;

namespace Sovra.Gateway.Tests;

/// <summary>The official OpenAI .NET SDK as the client: two Sovra nodes and a third-party server behind one gateway.</summary>
public class OpenAiSdkTests
{
    [Fact]
    public async Task The_official_SDK_talks_to_two_Sovra_nodes_and_a_stand_in_through_the_gateway()
    {
        var nodeA = await StandInUpstream.StartAsync("node-a");
        var nodeB = await StandInUpstream.StartAsync("node-b");
        await using var partner = await StandInUpstream.StartAsync("partner");
        try
        {
            string Node(string name, StandInUpstream s) => Yaml.Backend(name, s.BaseUrl, "eu", "[qwen2.5-7b]").Replace("openai-compatible", "sovra") + "    aliases: { qwen: qwen2.5-7b }\n";
            var backends = Node("node-a", nodeA) + Node("node-b", nodeB) + Yaml.Backend("partner", partner.BaseUrl, "us", "[qwen-7b]");
            var routes = "  - model: qwen\n    strategy: least-outstanding\n    candidates:\n      - { backend: node-a }\n      - { backend: node-b }\n      - { backend: partner, model: qwen-7b, priority: 9 }\n";
            await using var gw = await TestGateway.StartAsync(Yaml.Config(backends, routes), "sdk");
            var (_, key) = await gw.CreateKeyAsync(new { tenant = "acme" });
            var options = new OpenAIClientOptions { Endpoint = new Uri(gw.BaseUrl, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(20), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };
            var chat = new ChatClient("qwen", new ApiKeyCredential(key), options);

            ChatCompletion done = await chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 16 });
            Assert.StartsWith("hello from node-", done.Content[0].Text);
            Assert.Equal(11, done.Usage.InputTokenCount);

            // Overlapping streams spread over both nodes (least outstanding requests; ties go by priority).
            nodeA.ChunkDelayMs = nodeB.ChunkDelayMs = 150;
            var streams = new List<Task<string>>();
            for (var i = 0; i < 4; i++)
            {
                var before = nodeA.Requests + nodeB.Requests;
                streams.Add(Task.Run(async () =>
                {
                    var sb = new StringBuilder();
                    await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
                        foreach (var part in update.ContentUpdate) sb.Append(part.Text);
                    return sb.ToString();
                }));
                try { await FailoverTests.WaitUntil(() => nodeA.Requests + nodeB.Requests > before || streams[^1].IsCompleted); }
                catch (TimeoutException) { Assert.Fail(string.Join("\n", (await gw.Runtime.Store.LedgerRowsAsync(default)).Select(r => r.ToString()))); }
                if (streams[^1].IsFaulted) await streams[^1];
            }
            var texts = await Task.WhenAll(streams);
            Assert.All(texts, t => Assert.Equal("t0 t1 t2 t3 ", t));
            Assert.True(nodeA.Requests == 3 && nodeB.Requests == 2, $"node-a {nodeA.Requests}, node-b {nodeB.Requests}, partner {partner.Requests}");
            Assert.Equal(0, partner.Requests);

            // Both nodes gone: the partner answers.
            await nodeA.DisposeAsync();
            await nodeB.DisposeAsync();
            ChatCompletion fallback = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
            Assert.Equal("hello from partner", fallback.Content[0].Text);

            var models = await new OpenAIModelClient(new ApiKeyCredential(key), options).GetModelsAsync();
            Assert.Contains(models.Value, m => m.Id == "qwen");

            var refused = await Assert.ThrowsAsync<ClientResultException>(() => new ChatClient("qwen", new ApiKeyCredential("sk-sovra-wrong"), options).CompleteChatAsync([new UserChatMessage("hi")]));
            Assert.Equal(401, refused.Status);
            var rows = await gw.Runtime.Store.LedgerRowsAsync(default);
            Assert.Equal(6, rows.Count(r => r.Status == 200));
        }
        finally
        {
            await nodeA.DisposeAsync();
            await nodeB.DisposeAsync();
        }
    }
}
