using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Sovra.Gateway.Config;
using Sovra.Gateway.Hosting;
using Sovra.Gateway.Routing;
using Sovra.Gateway.Storage;

namespace Sovra.Gateway.Proxy;

/// <summary>
/// One proxied request, start to end: key, policy, residency, rate and budget, idempotency, attempts
/// over the ordered candidates, relay of the answer, and the ledger row. The row is committed before the
/// client receives the end of the answer (the last byte of a JSON body, the final "data: [DONE]" of a
/// stream): a client that saw the end knows the request is in the ledger.
/// </summary>
public sealed class ProxyHandler(GatewayRuntime rt)
{
    public const string JurisdictionHeader = "X-Sovra-Jurisdiction";
    private const int MaxResponseBytes = 64 << 20;
    private static readonly byte[] DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>One request's context and what its ledger row will say, filled in as the request goes.</summary>
    private sealed class Outcome
    {
        public required HttpContext Ctx;
        public required string Endpoint, RequestId, KeyId, Tenant, Model;
        public required long TsMs, Started;
        public required RequestBody Body;
        public required GatewayConfig Cfg;
        public Reservation? Reservation;
        public string? IdemKey, RequestHash; // set when the answer is to be stored for replay

        public string? Backend;
        public long TokensIn, TokensOut;
        public double PriceIn, PriceOut;
        public int? TtftMs;
        public int Status = 500;
        public string Result = "error";
        public bool ClientDisconnected;
        public StoredResponse? ToStore;
        public bool Done; // its row is written (or it needs none: a replay, a refused duplicate)
    }

    public async Task HandleAsync(HttpContext ctx, string endpoint)
    {
        var started = Stopwatch.GetTimestamp();
        var tsMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var requestId = RequestIds.Next();
        ctx.Response.Headers["x-request-id"] = requestId;
        var cfg = rt.Config;

        var auth = await GatewayAuth.TenantKeyAsync(ctx, rt);
        if (auth is null) return;
        var (key, tenant) = auth.Value;

        byte[] raw;
        RequestBody body;
        try
        {
            raw = await ReadBodyAsync(ctx.Request, cfg.Limits.MaxRequestBytes);
            body = new RequestBody(raw);
            if (endpoint == "embeddings" && body.Stream) throw new BadRequestException("embeddings cannot be streamed");
        }
        catch (BadRequestException e)
        {
            await OpenAiError.WriteAsync(ctx, 400, e.Message, "invalid_request_error");
            return;
        }
        catch (PayloadTooLarge)
        {
            await OpenAiError.WriteAsync(ctx, 413, $"The request body is larger than {cfg.Limits.MaxRequestBytes} bytes.", "invalid_request_error", "request_too_large");
            return;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            return; // the client went away while sending
        }

        var route = cfg.Route(body.Model);
        if (route is null || !tenant.AllowsModel(body.Model) || !key.AllowsModel(body.Model))
        {
            // The same answer for a model that does not exist and one this key may not use: nothing to probe.
            await OpenAiError.WriteAsync(ctx, 404, $"The model '{Clip(body.Model)}' does not exist or you do not have access to it.", "invalid_request_error", "model_not_found");
            return;
        }

        IReadOnlyCollection<string> jurisdictions = tenant.Jurisdictions;
        if (ctx.Request.Headers.TryGetValue(JurisdictionHeader, out var jh))
        {
            var wanted = jh.ToString().Trim();
            if (!tenant.JurisdictionHeader)
            {
                await OpenAiError.WriteAsync(ctx, 403, $"This key may not choose a jurisdiction ({JurisdictionHeader}).", "permission_error", "jurisdiction_not_allowed");
                return;
            }
            if (wanted.Length == 0 || (jurisdictions.Count > 0 && !jurisdictions.Contains(wanted)))
            {
                await OpenAiError.WriteAsync(ctx, 403, "The requested jurisdiction is outside this tenant's binding.", "permission_error", "jurisdiction_not_allowed");
                return;
            }
            jurisdictions = [wanted];
        }
        var candidates = Router.Order(route, cfg, rt.StateOf, jurisdictions);

        var estIn = raw.Length / 4 + 8;
        var estOut = endpoint == "embeddings" ? 0 : body.MaxTokens ?? cfg.Limits.DefaultMaxTokens;
        var o = new Outcome
        {
            Ctx = ctx, Endpoint = endpoint, RequestId = requestId, KeyId = key.Id, Tenant = tenant.Name, Model = body.Model,
            TsMs = tsMs, Started = started, Body = body, Cfg = cfg,
        };
        string? idemKey = ctx.Request.Headers.TryGetValue("Idempotency-Key", out var ik) && ik.ToString() is { Length: > 0 and <= 200 } ikv ? ikv : null;
        var inFlightClaimed = false;

        if (!rt.Rates.TryAdmit(key.Id, key.RequestsPerMinute, key.TokensPerMinute, estIn + estOut))
        {
            await OpenAiError.WriteAsync(ctx, 429, "Rate limit reached for this key (requests or tokens per minute).", "rate_limit_error", "rate_limit_exceeded");
            return;
        }

        try
        {
            if (idemKey is not null)
            {
                var hash = RequestHash(endpoint, raw);
                // In this process, one request per Idempotency-Key at a time; across processes the ledger commit decides.
                inFlightClaimed = rt.InFlightIdempotency.TryAdd((key.Id, idemKey), 0);
                if (!inFlightClaimed)
                {
                    o.Done = true;
                    await OpenAiError.WriteAsync(ctx, 409, "A request with this Idempotency-Key is still in progress.", "invalid_request_error", "idempotency_in_progress");
                    return;
                }
                var begin = await rt.Store.FindIdempotentAsync(key.Id, idemKey, hash, ctx.RequestAborted);
                switch (begin.State)
                {
                    case IdempotencyState.Replay:
                        o.Done = true;
                        await ReplayAsync(ctx, begin.Response!);
                        return;
                    case IdempotencyState.Mismatch:
                        o.Done = true;
                        await OpenAiError.WriteAsync(ctx, 422, "This Idempotency-Key was used with a different request body.", "invalid_request_error", "idempotency_mismatch");
                        return;
                }
                (o.IdemKey, o.RequestHash) = (idemKey, hash);
            }

            if (candidates.Count == 0)
            {
                o.Status = 503;
                o.Result = "no_backend_in_jurisdiction";
                await OpenAiError.WriteAsync(ctx, 503, "No backend allowed for this request (jurisdiction) serves this model.", "service_unavailable", "no_backend_available");
                return;
            }

            if (key.HasBudget)
            {
                double priceIn = double.MinValue, priceOut = double.MinValue;
                foreach (var c in candidates)
                {
                    priceIn = Math.Max(priceIn, c.Backend.PriceInputPerMillion);
                    priceOut = Math.Max(priceOut, c.Backend.PriceOutputPerMillion);
                }
                var (day, month) = Periods.Of(tsMs);
                var res = new Reservation(string.Concat("rsv_", requestId.AsSpan(4)), key.Id, day, month, estIn + estOut,
                    (long)Math.Ceiling(estIn * priceIn + estOut * priceOut),
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)MaxLifetime(candidates, cfg).TotalMilliseconds + 60_000);
                var outcome = await rt.ReserveAsync(key, res, ctx.RequestAborted);
                if (outcome != ReserveOutcome.Reserved)
                {
                    o.Status = 429;
                    o.Result = "budget_exceeded";
                    await OpenAiError.WriteAsync(ctx, 429, outcome == ReserveOutcome.TokensExceeded
                        ? "The token budget of this key is spent for the current period." : "The money budget of this key is spent for the current period.",
                        "insufficient_quota", "budget_exceeded");
                    return;
                }
                o.Reservation = res;
            }

            await AttemptAsync(candidates, o);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            o.ClientDisconnected = true;
            o.Status = 499;
            o.Result = "client_disconnected";
        }
        finally
        {
            rt.Rates.Adjust(key.Id, estIn + estOut, o.TokensIn + o.TokensOut);
            if (!o.Done)
            {
                // Every request that got this far leaves a row (the refused ones too, with no charge); it also releases the reservation.
                try { await rt.Ledger.WriteAsync(Entry(o)); }
                catch (Exception e) { rt.Log.LogError("ledger row {RequestId} not written: {Error}", requestId, e.GetType().Name); }
            }
            if (inFlightClaimed) rt.InFlightIdempotency.TryRemove((key.Id, idemKey!), out _);
        }
    }

    private async Task AttemptAsync(List<Candidate> candidates, Outcome o)
    {
        var (ctx, cfg) = (o.Ctx, o.Cfg);
        var attempts = 0;
        var tried = new Tried(candidates);
        string lastError = "All backends for this model are unavailable.";
        var cursor = 0;
        while (attempts < cfg.Retry.MaxAttempts)
        {
            var c = NextCandidate(candidates, ref cursor, tried, attempts);
            if (c is null)
            {
                // Nobody can take it now. If a backend asked to be retried soon (Retry-After), wait for it once.
                var wait = candidates.Select(x => x.State.RetryAfterRemaining).Where(t => t > TimeSpan.Zero).DefaultIfEmpty(TimeSpan.Zero).Min();
                if (wait == TimeSpan.Zero || wait > cfg.Retry.MaxRetryAfter) break;
                await Task.Delay(wait, ctx.RequestAborted);
                tried.Clear();
                continue;
            }
            attempts++;
            tried.Add(c);
            if (attempts > 1) await Task.Delay(Backoff(cfg.Retry, attempts), ctx.RequestAborted);
            var result = await TryBackendAsync(c, o);
            if (result is null) return; // answered (well or badly): no retry after the first byte
            lastError = result;
        }
        o.Status = 503;
        o.Result = "all_backends_failed";
        await FailAsync(o, 503, lastError, "service_unavailable", "backend_unavailable");
    }

    private static Candidate? NextCandidate(List<Candidate> candidates, ref int cursor, Tried tried, int attempts)
    {
        // First pass in strategy order over backends not yet tried; when all were tried, start over (bounded by MaxAttempts).
        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                var c = candidates[(cursor + i) % candidates.Count];
                if (tried.Contains(c)) continue;
                if (!c.State.TryEnter(c.Backend.MaxConcurrency)) continue;
                cursor = (cursor + i + 1) % candidates.Count;
                return c;
            }
            if (tried.IsEmpty || attempts == 0) return null;
            tried.Clear();
        }
        return null;
    }

    /// <summary>The backends (by name) an attempt went to, over the candidate list.</summary>
    private sealed class Tried(List<Candidate> candidates)
    {
        private HashSet<string>? _names;
        private string? _one; // the common case: one backend tried, no set

        public bool IsEmpty => _one is null;

        public bool Contains(Candidate c) => _one is not null && (_one == c.Backend.Name || (_names?.Contains(c.Backend.Name) ?? false));

        public void Add(Candidate c)
        {
            if (_one is null) _one = c.Backend.Name;
            else if (_one != c.Backend.Name) (_names ??= new HashSet<string>(candidates.Count)).Add(c.Backend.Name);
        }

        public void Clear()
        {
            _one = null;
            _names?.Clear();
        }
    }

    private static TimeSpan Backoff(RetryConfig r, int attempt)
    {
        var exp = r.BaseBackoff.TotalMilliseconds * Math.Pow(2, attempt - 2);
        var capped = Math.Min(exp, r.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble() * 0.5)); // jitter: no retry storms in step
    }

    private static TimeSpan MaxLifetime(List<Candidate> candidates, GatewayConfig cfg)
    {
        if (candidates.Count == 0) return TimeSpan.FromMinutes(10);
        var longest = long.MinValue;
        foreach (var c in candidates) longest = Math.Max(longest, c.Backend.TotalTimeout.Ticks);
        return TimeSpan.FromTicks(longest * cfg.Retry.MaxAttempts) + cfg.Retry.MaxBackoff * cfg.Retry.MaxAttempts;
    }

    /// <summary>What an Idempotency-Key is bound to: SHA-256 of the endpoint, a newline and the body, in hex.</summary>
    private static string RequestHash(string endpoint, byte[] raw)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes(endpoint + "\n"));
        h.AppendData(raw);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>One attempt. Returns null when the client got an answer, or why this backend failed before the first byte.</summary>
    private async Task<string?> TryBackendAsync(Candidate c, Outcome o)
    {
        var first = ArrayPool<byte>.Shared.Rent(16384);
        try { return await TryBackendCoreAsync(c, o, first); }
        finally { ArrayPool<byte>.Shared.Return(first); }
    }

    private async Task<string?> TryBackendCoreAsync(Candidate c, Outcome o, byte[] first)
    {
        var (ctx, cfg, body, endpoint, requestId, started) = (o.Ctx, o.Cfg, o.Body, o.Endpoint, o.RequestId, o.Started);
        var be = c.Backend;
        var attemptStart = Stopwatch.GetTimestamp();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        cts.CancelAfter(be.FirstByteTimeout);
        var askUsage = body.Stream && !body.ClientAskedUsage;
        HttpResponseMessage? resp = null;
        Stream upstream;
        int firstLen;
        var handedOver = false;
        try
        {
            var req = new HttpRequestMessage(HttpMethod.Post, be.EndpointUri(endpoint))
            {
                Content = new ByteArrayContent(body.ForUpstream(c.Route.UpstreamModel, askUsage)),
                Version = HttpVersion.Version11,
            };
            // Known-good values, added as they are (no parsing into header objects per request).
            req.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            if (be.AuthorizationHeader is { } authorization) req.Headers.TryAddWithoutValidation("Authorization", authorization);
            req.Headers.TryAddWithoutValidation("X-Request-Id", requestId);
            resp = await rt.Client(be).SendAsync(req, cts.Token);
            var status = (int)resp.StatusCode;
            if (status >= 500 || status == 429)
            {
                c.State.RecordFailure(cfg.Breaker, RetryAfter(resp));
                return $"The backend answered {status}.";
            }
            upstream = await resp.Content.ReadAsStreamAsync(cts.Token);
            firstLen = await upstream.ReadAtLeastAsync(first, 1, throwOnEndOfStream: false, cts.Token);
            if (firstLen == 0 && status < 300)
            {
                c.State.RecordFailure(cfg.Breaker);
                return "The backend closed the connection without an answer.";
            }
            handedOver = true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !ctx.RequestAborted.IsCancellationRequested))
        {
            c.State.RecordFailure(cfg.Breaker);
            return e is OperationCanceledException ? "The backend did not answer in time." : "The backend could not be reached.";
        }
        finally
        {
            if (!handedOver)
            {
                resp?.Dispose();
                c.State.Leave();
            }
        }

        // From here on the upstream has started answering: whatever happens, this attempt is the answer.
        o.Backend = be.Name;
        o.PriceIn = be.PriceInputPerMillion;
        o.PriceOut = be.PriceOutputPerMillion;
        o.TtftMs = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            cts.CancelAfter(be.TotalTimeout - Stopwatch.GetElapsedTime(attemptStart) is { } left && left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            var statusCode = (int)resp!.StatusCode;
            if (statusCode >= 300)
            {
                c.State.RecordSuccess(Stopwatch.GetElapsedTime(attemptStart).TotalMilliseconds);
                await RelayUpstreamErrorAsync(ctx, resp, upstream, first, firstLen, o, cts.Token);
                return null;
            }
            if (body.Stream)
                await StreamAsync(upstream, first, firstLen, askUsage, c, o, cts.Token);
            else
                await BufferedAsync(resp, upstream, first, firstLen, c, o, cts.Token);
            return null;
        }
        finally
        {
            resp!.Dispose();
            c.State.Leave();
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage resp)
    {
        var ra = resp.Headers.RetryAfter;
        if (ra?.Delta is { } d) return d;
        if (ra?.Date is { } date) return date - DateTimeOffset.UtcNow is { } left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
        return null;
    }

    private async Task BufferedAsync(HttpResponseMessage resp, Stream upstream, byte[] first, int firstLen, Candidate c, Outcome o, CancellationToken ct)
    {
        var ctx = o.Ctx;
        // The whole answer, in the buffer of the first read while it fits, then in pooled ones that grow.
        var buf = first;
        var len = firstLen;
        try
        {
            try
            {
                while (true)
                {
                    if (len == buf.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buf.Length * 2);
                        buf.AsSpan(0, len).CopyTo(bigger);
                        if (buf != first) ArrayPool<byte>.Shared.Return(buf);
                        buf = bigger;
                    }
                    var n = await upstream.ReadAsync(buf.AsMemory(len), ct);
                    if (n == 0) break;
                    len += n;
                    if (len > MaxResponseBytes) throw new IOException("response too large");
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException || (e is OperationCanceledException && !ctx.RequestAborted.IsCancellationRequested))
            {
                c.State.RecordFailure(rt.Config.Breaker);
                o.Status = 502;
                o.Result = "upstream_cut";
                await FailAsync(o, 502, "The backend stopped answering part-way; the request was not retried.", "upstream_error", "upstream_interrupted");
                return;
            }
            var bytes = buf.AsMemory(0, len);
            c.State.RecordSuccess(Stopwatch.GetElapsedTime(o.Started).TotalMilliseconds);
            if (UsageReader.TryRead(bytes.Span, out var usage, out _))
                (o.TokensIn, o.TokensOut) = (usage.PromptTokens, usage.CompletionTokens);
            o.Status = 200;
            o.Result = "ok";
            var contentType = ContentTypeOf(resp);
            if (o.IdemKey is not null) o.ToStore = new StoredResponse(200, contentType, bytes.ToArray());
            // The ledger row first, then the answer: a client holding the full body knows it was recorded.
            await CommitAsync(o);
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = contentType;
            ctx.Response.ContentLength = len;
            await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
        }
        finally
        {
            if (buf != first) ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>The upstream's Content-Type (the usual one without parsing it), application/json when it sent none.</summary>
    private static string ContentTypeOf(HttpResponseMessage resp)
    {
        if (resp.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values) && values.Count == 1 && values.ToString() == "application/json")
            return "application/json";
        return resp.Content.Headers.ContentType?.ToString() ?? "application/json";
    }

    private async Task StreamAsync(Stream upstream, byte[] first, int firstLen, bool injectedUsage, Candidate c, Outcome o, CancellationToken ct)
    {
        var (ctx, cfg) = (o.Ctx, o.Cfg);
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        var relay = new SseRelay(ctx.Response.BodyWriter, injectedUsage, o.IdemKey is not null);
        var ended = SseRelay.End.Cut;
        try
        {
            ended = await relay.RunAsync(upstream, first, firstLen, ctx.RequestAborted, ct);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            o.ClientDisconnected = true;
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
        {
            ended = SseRelay.End.Cut;
        }
        o.TokensIn = relay.Usage?.PromptTokens ?? 0;
        o.TokensOut = relay.Usage?.CompletionTokens ?? relay.ContentEvents;
        if (relay.Usage is null) o.TokensIn = 0;
        if (o.ClientDisconnected)
        {
            o.Status = 499;
            o.Result = "client_disconnected";
            return;
        }
        if (ended == SseRelay.End.Done)
        {
            c.State.RecordSuccess(Stopwatch.GetElapsedTime(o.Started).TotalMilliseconds);
            o.Status = 200;
            o.Result = "ok";
            if (o.IdemKey is not null) o.ToStore = new StoredResponse(200, "text/event-stream", relay.Transcript(DoneEvent));
            await CommitAsync(o);
            // Sent when the response completes, with the end of the chunked body: one write, not two.
            ctx.Response.BodyWriter.Write(DoneEvent);
            return;
        }
        // After the first byte an answer is never restarted elsewhere: the client is told it broke off.
        if (ended == SseRelay.End.Cut) c.State.RecordFailure(cfg.Breaker);
        o.Status = 502;
        o.Result = ended == SseRelay.End.UpstreamError ? "upstream_error_event" : "stream_cut";
        if (ended == SseRelay.End.Cut)
        {
            try
            {
                await ctx.Response.BodyWriter.WriteAsync(SseRelay.ErrorEvent("The backend stopped answering part-way; the answer is incomplete.", "upstream_interrupted"), ctx.RequestAborted);
                await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException) { o.ClientDisconnected = true; }
        }
    }

    private async Task RelayUpstreamErrorAsync(HttpContext ctx, HttpResponseMessage resp, Stream upstream, byte[] first, int firstLen, Outcome o, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        ms.Write(first, 0, firstLen);
        try { await upstream.CopyToAsync(ms, ct); } catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException) { }
        var status = (int)resp.StatusCode;
        o.Status = status;
        o.Result = "upstream_rejected";
        // Only the upstream's own message passes, re-wrapped: its body could hold anything (paths, traces).
        string message = "The backend rejected the request.";
        try
        {
            using var doc = JsonDocument.Parse(ms.ToArray());
            if (doc.RootElement.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.Object && err.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                message = Presentable(m.GetString()!) ?? message;
        }
        catch (JsonException) { }
        await FailAsync(o, status is >= 400 and < 500 ? status : 502, message, "invalid_request_error", "upstream_rejected");
    }

    private static async Task ReplayAsync(HttpContext ctx, StoredResponse stored)
    {
        ctx.Response.StatusCode = stored.Status;
        ctx.Response.ContentType = stored.ContentType;
        ctx.Response.ContentLength = stored.Body.Length;
        ctx.Response.Headers["Idempotent-Replayed"] = "true";
        await ctx.Response.Body.WriteAsync(stored.Body, ctx.RequestAborted);
    }

    /// <summary>Records the failure (releasing the reservation) before the client hears of it, so its retry finds the budget free.</summary>
    private async Task FailAsync(Outcome o, int status, string message, string type, string code)
    {
        try { await CommitAsync(o); }
        catch (Exception e) { rt.Log.LogError("ledger row {RequestId} not written: {Error}", o.RequestId, e.GetType().Name); }
        await OpenAiError.WriteAsync(o.Ctx, status, message, type, code);
    }

    private async Task CommitAsync(Outcome o)
    {
        o.Done = true;
        await rt.Ledger.WriteAsync(Entry(o));
    }

    private static LedgerEntry Entry(Outcome o) =>
        new(o.RequestId, o.TsMs, o.Tenant, o.KeyId, o.Model, o.Backend, o.TokensIn, o.TokensOut,
            (long)Math.Round(o.TokensIn * o.PriceIn + o.TokensOut * o.PriceOut), // $ per million tokens = micro-dollars per token
            (int)Stopwatch.GetElapsedTime(o.Started).TotalMilliseconds, o.TtftMs, o.Status, o.Result, o.ClientDisconnected, o.IdemKey, o.Reservation,
            o.Status == 200 ? o.ToStore : null, o.RequestHash);

    private sealed class PayloadTooLarge : Exception;

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, int max)
    {
        if (request.ContentLength > max) throw new PayloadTooLarge();
        if (request.ContentLength is { } exact)
        {
            var body = new byte[exact];
            var read = await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, request.HttpContext.RequestAborted);
            if (read < body.Length) throw new BadRequestException("the request body is shorter than its Content-Length");
            return body;
        }
        using var ms = new MemoryStream(request.ContentLength is { } len ? (int)len : 4096);
        var buf = new byte[16384];
        int n;
        while ((n = await request.Body.ReadAsync(buf, request.HttpContext.RequestAborted)) > 0)
        {
            if (ms.Length + n > max) throw new PayloadTooLarge();
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }

    /// <summary>An upstream's error message when it reads as a sentence for the client; null when it looks like it carries a path or a trace.</summary>
    private static string? Presentable(string m) =>
        m.Length > 500 || m.Contains('/') || m.Contains('\\') || m.Contains("Exception", StringComparison.Ordinal) || m.Contains(" at ", StringComparison.Ordinal) || m.Contains("sk-", StringComparison.Ordinal) ? null : m;

    private static string Clip(string s, int max = 100) => s.Length <= max ? s : s[..max] + "...";
}
