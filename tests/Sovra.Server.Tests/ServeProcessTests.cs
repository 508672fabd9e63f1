using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Sovra.Server.Tests.Fakes;
using Sovra.TestSupport;

namespace Sovra.Server.Tests;

/// <summary>`sovra serve` as a process: start-up, configuration errors, SIGTERM with a stream running.</summary>
[Collection("engine")]
public sealed class ServeProcessTests(EngineNode node)
{
    private static Process Start(string home, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sovra.dll"));
        psi.ArgumentList.Add("serve");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SOVRA_HOME"] = home; // no ~/.sovra/serve.json of the machine's user
        return Process.Start(psi)!;
    }

    [Fact]
    public void Every_configuration_problem_is_reported_at_once()
    {
        var home = RepoPaths.Scratch("serve-config");
        using var p = Start(home, "--port", "99999", "--parallel", "0", "--model", "/nonexistent/model.gguf", "--memory-budget", "lots");
        Assert.True(p.WaitForExit(60_000));
        var err = p.StandardError.ReadToEnd();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("4 problems", err);
        Assert.Contains("port 99999", err);
        Assert.Contains("parallel 0", err);
        Assert.Contains("/nonexistent/model.gguf does not exist", err);
        Assert.Contains("memory_budget 'lots'", err);
    }

    [Fact]
    public async Task SIGTERM_lets_the_running_stream_finish_then_the_process_exits()
    {
        var home = RepoPaths.Scratch("serve-sigterm");
        var models = Directory.CreateDirectory(Path.Combine(home, "models")).FullName;
        using var p = Start(home, "--models-dir", models, "--model", node.ModelPath, "--port", "0", "--parallel", "2", "-c", "256",
            "--shutdown-timeout", "30", "--threads", "1");
        try
        {
            var stderr = new StringBuilder();
            var address = new TaskCompletionSource<Uri>();
            p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (stderr) stderr.AppendLine(e.Data);
                if (Regex.Match(e.Data, @"listening on (http://\S+)") is { Success: true } m) address.TrySetResult(new Uri(m.Groups[1].Value));
            };
            p.BeginErrorReadLine();
            var baseUri = await address.Task.WaitAsync(TimeSpan.FromSeconds(90));
            using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(90) };
            for (var i = 0; i < 300 && !(await http.GetAsync("/ready")).IsSuccessStatusCode; i++) await Task.Delay(100);
            Assert.True((await http.GetAsync("/ready")).IsSuccessStatusCode, "never ready: " + stderr);

            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = EngineNode.ModelId, messages = new[] { new { role = "user", content = "Go on." } }, max_tokens = 120, temperature = 0, stream = true }),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var body = await response.Content.ReadAsStreamAsync();
            var first = new byte[64];
            _ = await body.ReadAsync(first); // the stream is running

            using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            await Task.Delay(500);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => new HttpClient { BaseAddress = baseUri }.GetAsync("/health"));

            var rest = await new StreamReader(body).ReadToEndAsync();
            Assert.EndsWith("data: [DONE]\n\n", rest);
            Assert.Contains("\"finish_reason\":\"length\"", rest);
            Assert.True(p.WaitForExit(30_000), "the node did not exit after SIGTERM: " + stderr);
            Assert.Equal(0, p.ExitCode);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}
