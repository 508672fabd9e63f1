using System.Text;

// Usage: Upstream <port>. POST /v1/chat/completions answers a fixed completion, or a 4-chunk stream when
// the request says "stream":true (with the usage chunk when it asks for include_usage).
var port = args.Length > 0 ? int.Parse(args[0]) : 18001;
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
var app = builder.Build();
var json = Encoding.UTF8.GetBytes("""{"id":"cmpl-bench","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}""");
var chunks = Enumerable.Range(0, 4).Select(i => Encoding.UTF8.GetBytes(
    $"data: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i} \"}},\"finish_reason\":null}}]}}\n\n")).ToArray();
var usage = Encoding.UTF8.GetBytes("data: {\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":4,\"total_tokens\":15}}\n\n");
var done = Encoding.UTF8.GetBytes("data: [DONE]\n\n");
app.MapPost("/v1/chat/completions", async ctx =>
{
    using var ms = new MemoryStream();
    await ctx.Request.Body.CopyToAsync(ms);
    var body = Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    if (!body.Contains("\"stream\":true"))
    {
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = json.Length;
        await ctx.Response.Body.WriteAsync(json);
        return;
    }
    ctx.Response.ContentType = "text/event-stream";
    foreach (var c in chunks)
    {
        await ctx.Response.Body.WriteAsync(c);
        await ctx.Response.Body.FlushAsync();
    }
    if (body.Contains("\"include_usage\":true")) await ctx.Response.Body.WriteAsync(usage);
    await ctx.Response.Body.WriteAsync(done);
});
app.MapGet("/health", () => "ok");
app.Run();
