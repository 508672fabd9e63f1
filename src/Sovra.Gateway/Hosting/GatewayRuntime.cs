using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Sovra.Gateway.Auth;
using Sovra.Gateway.Config;
using Sovra.Gateway.Routing;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Hosting;

/// <summary>
/// Everything the gateway holds while it runs. The configuration is one immutable object swapped
/// atomically on reload: a request reads it once and keeps that version to its end, so a reload never
/// changes a request half-way. Backend state (breakers, latency) and connection pools survive reloads.
/// </summary>
public sealed class GatewayRuntime : IAsyncDisposable
{
    private volatile GatewayConfig _config;
    private readonly ConcurrentDictionary<string, BackendState> _states = new();
    private readonly ConcurrentDictionary<TimeSpan, HttpMessageInvoker> _clients = new();

    public GatewayRuntime(GatewayConfig config, string? configPath, ILoggerFactory logs)
    {
        _config = config;
        ConfigPath = configPath;
        Log = logs.CreateLogger("Sovra.Gateway");
        Store = new GatewayStore(config.Ledger);
        if (Store.IsPostgres)
            _pgReservations = new GroupCommitter<(KeyRecord, Reservation), ReserveOutcome>(batch => Store.ReserveBatchAsync(batch, CancellationToken.None), 256);
        else
            _book = new BudgetBook(Store);
        Ledger = new StoreWriter(Store, _book, config.Ledger.BatchMax, Log);
        Keys = new KeyCache(Store);
        StateOf = State;
    }

    /// <summary><see cref="State"/> as one delegate, made once (not per request).</summary>
    public Func<string, BackendState> StateOf { get; }

    // Budget reservations: in memory beside an owned SQLite file, group-committed rows in a shared PostgreSQL.
    private readonly BudgetBook? _book;
    private readonly GroupCommitter<(KeyRecord, Reservation), ReserveOutcome>? _pgReservations;
    private SqliteOwnership? _ownership;

    /// <summary>Reserves a request's estimated budget; it is settled (or released) with the request's ledger row.</summary>
    public ValueTask<ReserveOutcome> ReserveAsync(KeyRecord key, Reservation r, CancellationToken ct) =>
        _book is not null ? _book.ReserveAsync(key, r, ct) : new ValueTask<ReserveOutcome>(_pgReservations!.RunAsync((key, r)));

    public GatewayConfig Config => _config;
    public string? ConfigPath { get; }
    public ILogger Log { get; }
    public GatewayStore Store { get; }
    public StoreWriter Ledger { get; }
    public KeyCache Keys { get; }
    public RateLimiter Rates { get; } = new();
    public ConcurrentDictionary<(string KeyId, string IdemKey), byte> InFlightIdempotency { get; } = new();

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _starting;

    /// <summary>Completes when the database schema is in place; requests wait for it.</summary>
    public Task Ready => _ready.Task;

    public async Task StartAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _starting, 1) == 1)
        {
            await Ready;
            return;
        }
        try
        {
            if (!Store.IsPostgres) _ownership = await SqliteOwnership.AcquireAsync(Config.Ledger.Target, TimeSpan.FromSeconds(5), ct);
            await Store.MigrateAsync(ct);
            await Ledger.StartAsync(ct); // the rows an earlier process left in the row log are in the tables before anything reads them
            // Reservation rows in an owned SQLite file were left by an earlier version or a killed process: none can settle now.
            if (!Store.IsPostgres) await Store.SweepAsync(long.MaxValue, 0, ct);
            await Keys.PollAsync(ct);
            _ready.TrySetResult();
        }
        catch (LedgerInUseException e)
        {
            _ready.TrySetException(e);
            throw;
        }
        catch (Exception e)
        {
            _ready.TrySetException(e);
            throw new InvalidOperationException($"the ledger database cannot be opened ({(Store.IsPostgres ? "postgres" : Config.Ledger.Target)}): {e.Message}");
        }
    }

    public BackendState State(string backend) => _states.GetOrAdd(backend, n => new BackendState(n));

    /// <summary>Swaps in a new configuration. The ledger target cannot change while running (it needs a restart).</summary>
    public bool TryReload(GatewayConfig next, out string? reason)
    {
        if (next.Ledger.Kind != _config.Ledger.Kind || next.Ledger.Target != _config.Ledger.Target)
        {
            reason = "the ledger location changed; restart the gateway to move it";
            return false;
        }
        _config = next;
        reason = null;
        return true;
    }

    /// <summary>
    /// One pooled client per connect timeout; connections to each backend are reused across requests. A bare
    /// invoker (no HttpClient): timeouts and cancellation are the caller's, per request.
    /// </summary>
    public HttpMessageInvoker Client(BackendConfig backend) => _clients.GetOrAdd(backend.ConnectTimeout, static t => new HttpMessageInvoker(new SocketsHttpHandler
    {
        ConnectTimeout = t,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        AllowAutoRedirect = false, // an upstream must not send the gateway (and the request) elsewhere
        UseProxy = false,
        MaxConnectionsPerServer = int.MaxValue,
        // No trace headers of the gateway's own on proxied requests (and no per-request work to make them).
        ActivityHeadersPropagator = null,
    }, disposeHandler: true));

    public async ValueTask DisposeAsync()
    {
        if (_pgReservations is not null) await _pgReservations.DisposeAsync();
        await Ledger.DisposeAsync();
        await Store.DisposeAsync();
        _ownership?.Dispose();
        foreach (var c in _clients.Values) c.Dispose();
    }
}
