using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sovra.Server.Tests.Fakes;

namespace Sovra.Server.Tests;

/// <summary>The HTTP layer over the scripted model: shapes, streaming, errors, limits, metrics.</summary>
public sealed class HttpApiTests
{
    private const string Script = "Hello, wörld — 日本語 ✓.";

    private static Task<TestNode> Start(string name, Func<Hosting.ServerOptions, Hosting.ServerOptions>? configure = null, Models.IModelLoader? loader = null) =>
        TestNode.StartAsync(name, new Dictionary<string, string> { ["scripted"] = Script }, loader, configure);

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
    private static StringContent Raw(string body) => new(body, Encoding.UTF8, "application/json");

    private static object Chat(object? extra = null)
    {
        var d = new Dictionary<string, object?> { ["model"] = "scripted", ["messages"] = new[] { new { role = "user", content = "Hi" } } };
        if (extra != null)
            foreach (var p in extra.GetType().GetProperties()) d[p.Name] = p.GetValue(extra);
        return d;
    }

    private static async Task<JsonElement> Error(HttpResponseMessage r, HttpStatusCode status)
    {
        Assert.Equal(status, r.StatusCode);
        var body = await r.Content.ReadFromJsonAsync<JsonElement>();
        var e = body.GetProperty("error");
        Assert.Equal(JsonValueKind.String, e.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, e.GetProperty("type").ValueKind);
        Assert.True(e.TryGetProperty("param", out _) && e.TryGetProperty("code", out _));
        return e;
    }

    [Fact]
    public async Task Health_is_up_at_once_and_ready_turns_true_once_a_model_is_loaded()
    {
        await using var node = await Start("ready");
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/health")).StatusCode);
        var before = await node.Http.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Contains("no model is loaded", await before.Content.ReadAsStringAsync());
        await node.Host.WarmUpAsync();
        var after = await node.Http.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Contains("\"scripted\"", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_any_model_ready_says_what_to_do()
    {
        await using var node = await TestNode.StartAsync("empty", new Dictionary<string, string>());
        var r = await node.Http.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("sovra pull", await r.Content.ReadAsStringAsync());
        var models = await node.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal(0, models.GetProperty("data").GetArrayLength());
        // A model that appears in the folder while the node runs is served without a restart.
        File.WriteAllText(Path.Combine(node.Dir, "late.gguf"), "late!");
        var chat = await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "late", messages = new[] { new { role = "user", content = "x" } } }));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
    }

    [Fact]
    public async Task Models_lists_every_file_in_OpenAI_shape()
    {
        await using var node = await TestNode.StartAsync("models", new Dictionary<string, string> { ["b-model"] = "x", ["a-model"] = "y" });
        var list = await node.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal("list", list.GetProperty("object").GetString());
        var ids = list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(new[] { "a-model", "b-model" }, ids);
        Assert.All(list.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
        await Error(await node.Http.GetAsync("/v1/models/nope"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_chat_completion_has_OpenAIs_shape_usage_and_finish_reason()
    {
        await using var node = await Start("chat");
        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat()));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        Assert.Equal("scripted", body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(Script, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        var prompt = Encoding.UTF8.GetByteCount("<user>Hi\n<assistant>") + 1;
        Assert.Equal(prompt, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(Encoding.UTF8.GetByteCount(Script), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(prompt + Encoding.UTF8.GetByteCount(Script), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_streamed_chat_sends_role_then_content_then_finish_then_usage_then_done()
    {
        await using var node = await Start("stream");
        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stream = true, stream_options = new { include_usage = true } })));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        var (events, done) = await SseReader.ReadAllAsync(r);
        Assert.True(done);
        Assert.All(events, e => Assert.Equal("chat.completion.chunk", e.GetProperty("object").GetString()));
        Assert.Equal("assistant", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var withChoices = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).ToList();
        var text = string.Concat(withChoices.Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal(Script, text);
        Assert.Equal("stop", withChoices[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var last = events[^1];
        Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
        Assert.Equal(Encoding.UTF8.GetByteCount(Script), last.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_text_before_it()
    {
        await using var node = await Start("stop");
        var body = await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stop = new[] { "wör", "zzz" } })))).Content.ReadFromJsonAsync<JsonElement>();
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("Hello, ", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(Encoding.UTF8.GetByteCount("Hello, wör"), body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Streamed: the held-back "w", "wö" never leak out before the match is known.
        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stop = "wör", stream = true })));
        var (events, _) = await SseReader.ReadAllAsync(r);
        var text = string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal("Hello, ", text);
    }

    [Fact]
    public async Task Output_cut_inside_a_multibyte_character_still_streams_valid_UTF8()
    {
        await using var node = await Start("utf8");
        // "Hello, w" is 8 bytes, then ö is 2: 9 tokens end inside it.
        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stream = true, max_tokens = 9 })));
        var (events, done) = await SseReader.ReadAllAsync(r); // throws on any invalid UTF-8
        Assert.True(done);
        var text = string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal("Hello, w\uFFFD", text);
        Assert.Equal("length", events[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        // Every event before the cut holds whole characters: 日 (3 bytes) arrives in one piece.
        var r2 = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stream = true })));
        var (events2, _) = await SseReader.ReadAllAsync(r2);
        Assert.Contains(events2, e => e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString() == "日");
    }

    [Fact]
    public async Task Bad_requests_get_OpenAI_errors_that_name_the_problem()
    {
        await using var node = await Start("errors", o => o with { ContextLength = 64, MaxN = 4 });
        var e = await Error(await node.Http.PostAsync("/v1/chat/completions", Raw("{\"model\": \"scripted\", \"messages\": [")), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_json", e.GetProperty("code").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { temperature = "hot" }))), HttpStatusCode.BadRequest);
        Assert.Equal("temperature", e.GetProperty("param").GetString());
        Assert.Contains("expected a number, but got a string", e.GetProperty("message").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { temperature = 3.5 }))), HttpStatusCode.BadRequest);
        Assert.Contains("3.5", e.GetProperty("message").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { n = 5 }))), HttpStatusCode.BadRequest);
        Assert.Equal("n", e.GetProperty("param").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "scripted" })), HttpStatusCode.BadRequest);
        Assert.Equal("messages", e.GetProperty("param").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "scripted", messages = new[] { new { role = "wizard", content = "x" } } })), HttpStatusCode.BadRequest);
        Assert.Equal("messages[0].role", e.GetProperty("param").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "gpt-7", messages = new[] { new { role = "user", content = "x" } } })), HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", e.GetProperty("code").GetString());
        Assert.Contains("scripted", e.GetProperty("message").GetString());

        var longText = new string('x', 100);
        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "scripted", messages = new[] { new { role = "user", content = longText } } })), HttpStatusCode.BadRequest);
        Assert.Equal("context_length_exceeded", e.GetProperty("code").GetString());
        var promptTokens = Encoding.UTF8.GetByteCount($"<user>{longText}\n<assistant>") + 1;
        Assert.Contains("64 tokens", e.GetProperty("message").GetString());
        Assert.Contains($"{promptTokens} tokens", e.GetProperty("message").GetString());

        e = await Error(await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { max_tokens = 60 }))), HttpStatusCode.BadRequest);
        Assert.Equal("context_length_exceeded", e.GetProperty("code").GetString());
        Assert.Contains("60 in the completion", e.GetProperty("message").GetString());

        e = await Error(await node.Http.PostAsync("/v1/completions", Json(new { model = "scripted", prompt = 5 })), HttpStatusCode.BadRequest);
        Assert.Equal("prompt", e.GetProperty("param").GetString());

        e = await Error(await node.Http.GetAsync("/v2/nothing"), HttpStatusCode.NotFound);
        Assert.Equal("unknown_url", e.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Completions_answer_in_the_legacy_shape_with_logprobs()
    {
        await using var node = await Start("completions");
        var body = await (await node.Http.PostAsync("/v1/completions", Json(new { model = "scripted", prompt = new[] { 97, 98, 99, 257 }, max_tokens = 5, logprobs = 2 }))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("Hello", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var lp = choice.GetProperty("logprobs");
        Assert.Equal(new[] { "H", "e", "l", "l", "o" }, lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal(5, lp.GetProperty("token_logprobs").GetArrayLength());
        Assert.Equal([0, 1, 2, 3, 4], lp.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()).ToArray());
        Assert.Equal(4, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        // A text prompt is encoded by the model's tokenizer (here one token per byte).
        var text = await (await node.Http.PostAsync("/v1/completions", Json(new { model = "scripted", prompt = "abc", max_tokens = 2 }))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, text.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2, text.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_logprobs_carry_token_bytes_and_top_alternatives()
    {
        await using var node = await Start("logprobs");
        var body = await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { logprobs = true, top_logprobs = 2, max_tokens = 3 })))).Content.ReadFromJsonAsync<JsonElement>();
        var content = body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(3, content.GetArrayLength());
        Assert.Equal("H", content[0].GetProperty("token").GetString());
        Assert.Equal([72], content[0].GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()).ToArray());
        Assert.Equal(2, content[0].GetProperty("top_logprobs").GetArrayLength());
        Assert.True(content[0].GetProperty("logprob").GetDouble() <= 0);
    }

    [Fact]
    public async Task N_choices_come_back_with_their_indexes()
    {
        await using var node = await Start("n");
        var body = await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { n = 3, temperature = 1.5, seed = 7, max_tokens = 8 })))).Content.ReadFromJsonAsync<JsonElement>();
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()).ToArray());
        Assert.Equal(24, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var again = await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { n = 3, temperature = 1.5, seed = 7, max_tokens = 8 })))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()),
            again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()));
    }

    [Fact]
    public async Task Thinking_goes_to_reasoning_content_unless_switched_off()
    {
        var loader = new ScriptedLoader(e => new ScriptedServedModel(e.Id, new ScriptedModel("<think>\nLet me see.\n</think>\n\nIt is 4."), thinking: true));
        await using var node = await Start("think", loader: loader);
        var message = (await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat()))).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("Let me see.", message.GetProperty("reasoning_content").GetString());
        Assert.Equal("It is 4.", message.GetProperty("content").GetString());

        var raw = (await (await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { separate_reasoning = false })))).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("<think>\nLet me see.\n</think>\n\nIt is 4.", raw.GetProperty("content").GetString());
        Assert.False(raw.TryGetProperty("reasoning_content", out _));

        var r = await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stream = true })));
        var (events, _) = await SseReader.ReadAllAsync(r);
        string Field(string name) => string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty(name, out var c) ? c.GetString() : ""));
        Assert.Equal("It is 4.", Field("content"));
        Assert.Equal("Let me see.", Field("reasoning_content").Trim());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After()
    {
        var loader = new ScriptedLoader(e => new ScriptedServedModel(e.Id, new ScriptedModel(new string('s', 300), 512, 1) { StepDelayMs = 20 }));
        await using var node = await Start("queue", o => o with { Parallel = 1, MaxQueue = 1 }, loader);
        var body = Chat(new { max_tokens = 200 });
        var running = node.Http.PostAsync("/v1/chat/completions", Json(body));
        await WaitFor(() => node.Host.Registry.LoadedModels.FirstOrDefault()?.Scheduler.Stats.Active == 1);
        var waiting = node.Http.PostAsync("/v1/chat/completions", Json(body));
        await WaitFor(() => node.Host.Registry.LoadedModels[0].Scheduler.Stats.Waiting == 1);
        var rejected = await node.Http.PostAsync("/v1/chat/completions", Json(body));
        var e = await Error(rejected, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", e.GetProperty("code").GetString());
        Assert.True(rejected.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("1 waiting", e.GetProperty("message").GetString());
        foreach (var h in node.Host.Registry.LoadedModels) h.Scheduler.Poke();
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode); // waited, did not fail
    }

    [Fact]
    public async Task A_client_that_disconnects_stops_its_generation_and_is_counted_once()
    {
        var loader = new ScriptedLoader(e => new ScriptedServedModel(e.Id, new ScriptedModel(new string('d', 400), 512, 2) { StepDelayMs = 10 }));
        await using var node = await Start("disconnect", loader: loader);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Chat(new { stream = true, max_tokens = 400 })) };
            using var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[256];
            var read = 0;
            while (read < 600) read += await stream.ReadAsync(buffer, cts.Token); // a few events
        } // the response is disposed: the connection closes
        var scheduler = node.Host.Registry.LoadedModels[0].Scheduler;
        await WaitFor(() => scheduler.Stats.Active == 0);
        Assert.Equal(0, scheduler.Stats.CachedSequences);
        var steps = scheduler.Stats.Steps;
        Assert.True(steps < 200, $"{steps} steps ran: the generation went on after the disconnect");
        await WaitFor(() => node.Host.Node.Metrics.Requests.Value("chat", "499") == 1);
        await Task.Delay(100);
        Assert.Equal(1, node.Host.Node.Metrics.Cancelled.Value());
        Assert.Equal(1, node.Host.Node.Metrics.Requests.Value("chat", "499"));
    }

    [Fact]
    public async Task Metrics_are_in_Prometheus_text_format_and_count_what_happened()
    {
        await using var node = await Start("metrics");
        await node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { max_tokens = 4 })));
        await node.Http.PostAsync("/v1/chat/completions", Json(new { model = "nope", messages = new[] { new { role = "user", content = "x" } } }));
        var r = await node.Http.GetAsync("/metrics");
        Assert.StartsWith("text/plain", r.Content.Headers.ContentType?.ToString());
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("sovra_requests_total{endpoint=\"chat\",status=\"200\"} 1\n", text);
        Assert.Contains("sovra_requests_total{endpoint=\"chat\",status=\"404\"} 1\n", text);
        Assert.Contains("sovra_generated_tokens_total 4\n", text);
        Assert.Contains("sovra_time_to_first_token_seconds_count 1\n", text);
        Assert.Contains("sovra_inter_token_latency_seconds_count 3\n", text);
        foreach (var name in new[] { "sovra_queue_depth", "sovra_batch_sequences_bucket", "sovra_kv_cache_usage_ratio", "sovra_prompt_tokens_total" })
            Assert.Contains(name, text);
        // Every sample line is "name{labels} value" with a number, every metric has HELP and TYPE.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#')) { Assert.Matches(@"^# (HELP|TYPE) [a-z_]+ .+$", line); continue; }
            Assert.Matches(@"^[a-z_]+(\{[a-z_]+=""[^""]*""(,[a-z_]+=""[^""]*"")*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$", line);
        }
    }

    [Fact]
    public async Task Stopping_lets_a_running_stream_finish_and_refuses_new_requests()
    {
        var loader = new ScriptedLoader(e => new ScriptedServedModel(e.Id, new ScriptedModel(new string('g', 60), 512, 2) { StepDelayMs = 10 }));
        await using var node = await Start("shutdown", loader: loader);
        var running = node.Http.PostAsync("/v1/chat/completions", Json(Chat(new { stream = true, max_tokens = 60 })));
        await WaitFor(() => node.Host.Registry.LoadedModels.FirstOrDefault()?.Scheduler.Stats.Active == 1);
        var stopping = node.Host.StopAsync();
        var response = await running;
        var (events, done) = await SseReader.ReadAllAsync(response);
        Assert.True(done);
        Assert.Equal(60, string.Concat(events.Select(e => e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : "")).Length);
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => node.Http.GetAsync("/health"));
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), "the condition did not become true within 10 s");
    }
}
