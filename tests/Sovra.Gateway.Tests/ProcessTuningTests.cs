using System.Net.Http.Headers;
using System.Text.Json;
using Sovra.Gateway.Hosting;
using Sovra.Gateway.Storage;
using Sovra.Gateway.Tests.Support;
using Sovra.TestSupport;

namespace Sovra.Gateway.Tests;

/// <summary>The process-wide settings `sovra gateway` applies for its throughput and flat memory, as the process itself reports them.</summary>
public class ProcessTuningTests
{
    [Fact]
    public async Task The_gateway_process_runs_inline_socket_completions_two_malloc_arenas_malloc_trims_and_a_bounded_SQLite()
    {
        await using var up = await StandInUpstream.StartAsync("a");
        var dir = RepoPaths.Scratch("gw-tuning");
        var config = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, Yaml.Config(Yaml.Backend("a", up.BaseUrl, "eu")));
        using var gw = await GatewayProcess.StartAsync(config, FailoverTests.FreePort());
        try
        {
            using var http = new HttpClient();
            async Task<(JsonElement, string)> RuntimeAsync()
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gw.Port}/admin/runtime");
                req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);
                using var resp = await http.SendAsync(req);
                var body = await resp.Content.ReadAsStringAsync();
                Assert.True(resp.IsSuccessStatusCode, body);
                return (JsonDocument.Parse(body).RootElement, body);
            }
            var (r, text) = await RuntimeAsync();

            // Unless the environment says otherwise, as the operator may.
            if (Environment.GetEnvironmentVariable(ProcessTuning.InlineCompletionsVariable) is null)
                Assert.True(r.GetProperty("inline_socket_completions").GetBoolean(), text);
            if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null && IsGlibc())
                Assert.Equal(ProcessTuning.MallocArenas, r.GetProperty("malloc_arena_max").GetInt32());
            if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null && Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is null && IsGlibc())
                Assert.True(r.GetProperty("malloc_thresholds_fixed").GetBoolean(), text);
            Assert.Equal(GatewayStore.SqliteHeapLimit, r.GetProperty("sqlite_heap_limit_bytes").GetInt64());
            Assert.True(r.GetProperty("sqlite_bytes").GetInt64() is > 0 and < GatewayStore.SqliteHeapLimit, text);
            Assert.True(r.GetProperty("rss_bytes").GetInt64() > r.GetProperty("gc_heap_bytes").GetInt64(), text);
            Assert.True(r.GetProperty("jit_compiled_methods").GetInt64() > 0, text);

            // On glibc the process hands malloc's free pages back: the first time a few seconds after start.
            if (OperatingSystem.IsLinux() && IsGlibc())
            {
                Assert.True(r.GetProperty("malloc_trim_enabled").GetBoolean(), text);
                var until = DateTime.UtcNow + ProcessTuning.MallocTrimFirst + TimeSpan.FromSeconds(10);
                while (r.GetProperty("malloc_trims").GetInt64() == 0 && DateTime.UtcNow < until)
                {
                    await Task.Delay(250);
                    (r, text) = await RuntimeAsync();
                }
                Assert.True(r.GetProperty("malloc_trims").GetInt64() >= 1, text);
                Assert.True(r.GetProperty("malloc_trim_released_bytes").GetInt64() >= 0, text);
            }
        }
        finally
        {
            gw.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static bool IsGlibc() => File.Exists("/lib/x86_64-linux-gnu/libc.so.6") || File.Exists("/lib/aarch64-linux-gnu/libc.so.6") || File.Exists("/lib64/libc.so.6");
}
