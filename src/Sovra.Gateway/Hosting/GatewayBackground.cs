using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovra.Gateway.Config;

namespace Sovra.Gateway.Hosting;

/// <summary>
/// What runs beside the requests: the schema check at start, the configuration reload (the file is
/// polled; a changed file that fails validation is reported and the running configuration kept), active
/// health checks of each backend that has a health path, the sweep of reservations left behind, WAL
/// checkpoints, the key epoch poll that carries revocations made by other gateway processes, and (in a
/// `sovra gateway` process on glibc) handing malloc's free pages back to the OS.
/// </summary>
public sealed class GatewayBackground(GatewayRuntime rt) : BackgroundService
{
    private DateTime _configStamp;
    private long _configLength;

    public override async Task StartAsync(CancellationToken ct)
    {
        await rt.StartAsync(ct);
        if (rt.ConfigPath is { } p && File.Exists(p))
            (_configStamp, _configLength) = (File.GetLastWriteTimeUtc(p), new FileInfo(p).Length);
        await base.StartAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var keys = PollKeysAsync(stop);
        await HousekeepingAsync(stop);
        await keys;
    }

    /// <summary>The key epoch, on its own loop so that a slow checkpoint or sweep never delays a revocation.</summary>
    private async Task PollKeysAsync(CancellationToken stop)
    {
        using var tick = new PeriodicTimer(Auth.KeyCache.PollInterval);
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                try { await rt.Keys.PollAsync(stop); }
                catch (Exception e) when (e is not OperationCanceledException) { rt.Log.LogWarning("key epoch not read: {Error}", e.GetType().Name); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task HousekeepingAsync(CancellationToken stop)
    {
        var lastHealth = new Dictionary<string, long>();
        var lastSweep = Environment.TickCount64;
        var lastCheckpoint = Environment.TickCount64;
        var nextTrim = Environment.TickCount64 + (long)ProcessTuning.MallocTrimFirst.TotalMilliseconds;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                ReloadIfChanged();
                var now = Environment.TickCount64;
                foreach (var b in rt.Config.Backends.Where(b => b.HealthPath is not null))
                {
                    if (lastHealth.TryGetValue(b.Name, out var at) && now - at < b.HealthInterval.TotalMilliseconds) continue;
                    lastHealth[b.Name] = now;
                    _ = ProbeAsync(b, stop);
                }
                if (now - lastCheckpoint >= 1000)
                {
                    lastCheckpoint = now;
                    try { await rt.Ledger.CheckpointAsync(stop); }
                    catch (Exception e) when (e is not OperationCanceledException) { rt.Log.LogWarning("WAL checkpoint failed: {Error}", e.GetType().Name); }
                }
                if (ProcessTuning.MallocTrimEnabled && now >= nextTrim)
                {
                    nextTrim = now + (long)ProcessTuning.MallocTrimEvery.TotalMilliseconds;
                    ProcessTuning.TrimMalloc();
                }
                if (now - lastSweep > 10_000)
                {
                    lastSweep = now;
                    try
                    {
                        var ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                        await rt.Store.SweepAsync(ms, ms - 24 * 3_600_000, stop); // idempotent answers are kept for 24 h
                    }
                    catch (Exception e) when (e is not OperationCanceledException) { rt.Log.LogWarning("reservation sweep failed: {Error}", e.GetType().Name); }
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void ReloadIfChanged()
    {
        if (rt.ConfigPath is not { } p) return;
        try
        {
            var info = new FileInfo(p);
            if (!info.Exists || (info.LastWriteTimeUtc == _configStamp && info.Length == _configLength)) return;
            (_configStamp, _configLength) = (info.LastWriteTimeUtc, info.Length);
            var next = ConfigLoader.LoadFile(p);
            if (rt.TryReload(next, out var reason)) rt.Log.LogInformation("configuration reloaded from {File}", Path.GetFileName(p));
            else rt.Log.LogError("configuration not reloaded: {Reason}", reason);
        }
        catch (GatewayConfigException e)
        {
            rt.Log.LogError("configuration not reloaded, the running one stays: {Errors}", string.Join("; ", e.Errors));
        }
        catch (IOException) { } // being written: the next tick reads it again
    }

    private async Task ProbeAsync(BackendConfig b, CancellationToken stop)
    {
        var healthy = false;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cts.CancelAfter(b.ConnectTimeout + TimeSpan.FromSeconds(2));
            using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(b.BaseUrl, b.HealthPath));
            if (b.ApiKey is not null) req.Headers.Authorization = new("Bearer", b.ApiKey);
            using var resp = await rt.Client(b).SendAsync(req, cts.Token);
            healthy = resp.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException) { }
        if (stop.IsCancellationRequested) return;
        rt.State(b.Name).RecordProbe(healthy, rt.Config.Breaker);
    }
}
