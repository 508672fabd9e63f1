using Sovra.Gateway.Config;

namespace Sovra.Gateway.Routing;

/// <summary>
/// What the gateway knows about one backend at run time: requests in flight, a moving average of its
/// latency, and its circuit breaker (closed → open after N consecutive failures → half-open after the
/// cool-down, when one probe may pass → closed on success, open again on failure). Kept across reloads.
/// </summary>
public sealed class BackendState(string name)
{
    private enum Breaker { Closed, Open, HalfOpen }

    private readonly Lock _lock = new();
    private Breaker _breaker;
    private int _failures;
    private long _openUntil;
    private long _retryAfterUntil;
    private bool _probing;
    private int _inFlight;
    private double _latencyEwmaMs = double.NaN;

    public string Name { get; } = name;
    public int InFlight => Volatile.Read(ref _inFlight);
    public double LatencyEwmaMs { get { lock (_lock) return _latencyEwmaMs; } }

    /// <summary>How long this backend asked not to be called again (Retry-After); zero when it did not.</summary>
    public TimeSpan RetryAfterRemaining
    {
        get { lock (_lock) return TimeSpan.FromMilliseconds(Math.Max(0, _retryAfterUntil - Environment.TickCount64)); }
    }

    public string BreakerState { get { lock (_lock) return _breaker.ToString().ToLowerInvariant(); } }

    /// <summary>Whether a request may go to this backend now; in half-open state only one probe at a time.</summary>
    public bool TryEnter(int maxConcurrency)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            if (now < _retryAfterUntil) return false;
            if (_breaker == Breaker.Open)
            {
                if (now < _openUntil) return false;
                _breaker = Breaker.HalfOpen;
                _probing = false;
            }
            if (_breaker == Breaker.HalfOpen)
            {
                if (_probing) return false;
                _probing = true;
            }
        }
        if (Interlocked.Increment(ref _inFlight) > maxConcurrency)
        {
            Interlocked.Decrement(ref _inFlight);
            lock (_lock) _probing = false;
            return false;
        }
        return true;
    }

    public void Leave() => Interlocked.Decrement(ref _inFlight);

    public void RecordSuccess(double latencyMs)
    {
        lock (_lock)
        {
            _failures = 0;
            _breaker = Breaker.Closed;
            _probing = false;
            _latencyEwmaMs = double.IsNaN(_latencyEwmaMs) ? latencyMs : 0.8 * _latencyEwmaMs + 0.2 * latencyMs;
        }
    }

    public void RecordFailure(BreakerConfig config, TimeSpan? retryAfter = null)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            _probing = false;
            if (retryAfter is { } ra) _retryAfterUntil = Math.Max(_retryAfterUntil, now + (long)ra.TotalMilliseconds);
            _failures++;
            if (_breaker == Breaker.HalfOpen || _failures >= config.Failures)
            {
                _breaker = Breaker.Open;
                _openUntil = now + (long)config.Cooldown.TotalMilliseconds;
            }
        }
    }

    /// <summary>A health probe's answer: failures count toward ejection; a success after the cool-down re-admits.</summary>
    public void RecordProbe(bool healthy, BreakerConfig config)
    {
        if (!healthy)
        {
            RecordFailure(config);
            return;
        }
        lock (_lock)
        {
            if (_breaker == Breaker.Open && Environment.TickCount64 < _openUntil) return;
            _breaker = Breaker.Closed;
            _failures = 0;
            _probing = false;
        }
    }
}
