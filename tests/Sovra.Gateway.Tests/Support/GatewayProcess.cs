using System.Diagnostics;
using System.Text;

namespace Sovra.Gateway.Tests.Support;

/// <summary>
/// The real `sovra gateway` as a child process (sovra.dll is built beside the tests). Killed with SIGKILL
/// by <see cref="Kill"/>, and always on dispose, so a failing test leaves no process behind.
/// </summary>
public sealed class GatewayProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _log = new();
    public int Port { get; }
    public string Log { get { lock (_log) return _log.ToString(); } }

    private GatewayProcess(Process p, int port)
    {
        _p = p;
        Port = port;
    }

    public static async Task<GatewayProcess> StartAsync(string configPath, int port)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sovra.dll");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "gateway", "--config", configPath, "--host", "127.0.0.1", "--port", port.ToString() }) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_TieredPGO"] = "0"; // start faster; these runs are short
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var g = new GatewayProcess(p, port);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (g._log) g._log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (g._log) g._log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (p.HasExited)
            {
                var log = g.Log;
                g.Dispose();
                throw new InvalidOperationException($"sovra gateway exited with {p.ExitCode}: {log}");
            }
            try
            {
                using var r = await http.GetAsync($"http://127.0.0.1:{port}/healthz");
                if (r.IsSuccessStatusCode) return g;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(50);
        }
        g.Dispose();
        throw new TimeoutException("sovra gateway did not become healthy in 60 s: " + g.Log);
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed.</summary>
    public void Kill()
    {
        if (_p.HasExited) return;
        _p.Kill(entireProcessTree: false);
        _p.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _p.Dispose();
    }
}
