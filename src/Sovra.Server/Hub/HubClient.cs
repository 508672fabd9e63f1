using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Sovra.Server.Hub;

/// <summary>A file on the Hub as its metadata describes it: size and the sha256 of its content (the LFS oid).</summary>
public sealed record HubFile(string Repo, string Path, string Revision, long Size, string Sha256, string? Commit);

/// <summary>How far a download is, for the progress bar.</summary>
public readonly record struct DownloadProgress(long Done, long Total, long ResumedFrom, TimeSpan Elapsed);

public sealed class HubException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Downloads GGUF files from the Hugging Face Hub (or any server with its HTTP API: set SOVRA_HF_ENDPOINT
/// or HF_ENDPOINT). The file's sha256 and size come from the resolve response's X-Linked-Etag /
/// X-Linked-Size headers (the LFS oid), or from the tree API; the content is streamed into a .part file
/// that later attempts resume with a Range request, hashed as it arrives, and renamed into place only
/// when its size and sha256 match. A transfer that breaks off is resumed a few times before giving up.
/// </summary>
public sealed class HubClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _token;

    public HubClient(string? endpoint = null, string? token = null, HttpMessageHandler? handler = null)
    {
        Endpoint = new Uri((endpoint ?? DefaultEndpoint()).TrimEnd('/') + "/");
        _token = token ?? Environment.GetEnvironmentVariable("HF_TOKEN");
        // Redirects are followed by hand so the metadata of the Hub's own 302 can be read.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, ConnectTimeout = TimeSpan.FromSeconds(30) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("sovra/0.1");
    }

    public Uri Endpoint { get; }

    /// <summary>Attempts per download before a broken transfer is reported.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public static string DefaultEndpoint() =>
        Environment.GetEnvironmentVariable("SOVRA_HF_ENDPOINT") is { Length: > 0 } s ? s
        : Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } h ? h
        : "https://huggingface.co";

    /// <summary>The files of a repository at a revision (GET /api/models/{repo}/tree/{revision}).</summary>
    public async Task<IReadOnlyList<HubFile>> ListAsync(string repo, string revision = "main", CancellationToken cancellation = default)
    {
        var url = new Uri(Endpoint, $"api/models/{repo}/tree/{Uri.EscapeDataString(revision)}?recursive=true");
        using var response = await SendAsync(HttpMethod.Get, url, null, cancellation).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized)
            throw new HubException($"{repo} was not found on {Endpoint.Host} (HTTP {(int)response.StatusCode}); check the name, or set HF_TOKEN for a gated repository");
        await EnsureOk(response, url).ConfigureAwait(false);
        var json = await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
        var files = new List<HubFile>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("type").GetString() != "file") continue;
                var path = e.GetProperty("path").GetString()!;
                var size = e.GetProperty("size").GetInt64();
                var sha = e.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object ? lfs.GetProperty("oid").GetString() ?? "" : "";
                files.Add(new HubFile(repo, path, revision, size, sha, null));
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException($"the file list of {repo} from {Endpoint.Host} is not in the expected shape: {e.Message}");
        }
        return files;
    }

    /// <summary>Size and sha256 of one file, from the headers of its resolve URL (HEAD, redirects not followed).</summary>
    public async Task<HubFile> ResolveAsync(string repo, string path, string revision = "main", CancellationToken cancellation = default)
    {
        var url = ResolveUrl(repo, path, revision);
        using var response = await SendAsync(HttpMethod.Head, url, null, cancellation).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            throw new HubException($"{repo} has no file {path} at {revision} (HTTP 404 from {Endpoint.Host})");
        if ((int)response.StatusCode >= 400) await EnsureOk(response, url).ConfigureAwait(false);
        var sha = Header(response, "X-Linked-Etag") ?? Header(response, "ETag");
        var sizeText = Header(response, "X-Linked-Size") ?? response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sha = sha?.Trim().TrimStart('W', '/').Trim('"').ToLowerInvariant();
        if (sha is not { Length: 64 } || !sha.All(Uri.IsHexDigit) || !long.TryParse(sizeText, out var size))
        {
            // Small files are not in LFS and have no sha256 header: ask the tree, which gives every LFS oid.
            var listed = (await ListAsync(repo, revision, cancellation).ConfigureAwait(false)).FirstOrDefault(f => f.Path == path);
            if (listed is not { Sha256.Length: 64 })
                throw new HubException($"{Endpoint.Host} publishes no sha256 for {repo}/{path}; refusing to download a file that cannot be verified");
            return listed with { Commit = Header(response, "X-Repo-Commit") };
        }
        return new HubFile(repo, path, revision, size, sha, Header(response, "X-Repo-Commit"));
    }

    public Uri ResolveUrl(string repo, string path, string revision = "main") =>
        new(Endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>
    /// Downloads <paramref name="file"/> to <paramref name="destination"/>. The bytes go to destination + ".part"
    /// first; an existing .part is resumed. Returns when the file is in place and verified.
    /// </summary>
    public async Task DownloadAsync(HubFile file, string destination, IProgress<DownloadProgress>? progress = null, CancellationToken cancellation = default)
    {
        var part = destination + ".part";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var started = DateTime.UtcNow;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long have = 0;
        if (File.Exists(part))
        {
            have = new FileInfo(part).Length;
            if (have > file.Size) { File.Delete(part); have = 0; }
            else await HashExisting(part, sha, cancellation).ConfigureAwait(false);
        }
        var resumedFrom = have;

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (have < file.Size)
                    have = await Transfer(file, part, have, sha, p => progress?.Report(new DownloadProgress(p, file.Size, resumedFrom, DateTime.UtcNow - started)), cancellation).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TransientException && !cancellation.IsCancellationRequested && attempt < MaxAttempts)
            {
                have = File.Exists(part) ? new FileInfo(part).Length : 0;
                sha.GetHashAndReset();
                if (have > 0) await HashExisting(part, sha, cancellation).ConfigureAwait(false);
                await Task.Delay(RetryDelay * attempt, cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TransientException && !cancellation.IsCancellationRequested)
            {
                throw new HubException($"the download of {file.Path} broke off {MaxAttempts} times ({e.Message}); run the same command again to resume from {FormatBytes(File.Exists(part) ? new FileInfo(part).Length : 0)}", e);
            }
        }

        if (have != file.Size)
            throw new HubException($"{file.Path}: received {have} bytes, the Hub says the file has {file.Size}");
        var actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(part);
            throw new HubException($"{file.Path} is corrupt: its sha256 is {actual}, the Hub publishes {file.Sha256}; the partial file was deleted, run the command again");
        }
        progress?.Report(new DownloadProgress(have, file.Size, resumedFrom, DateTime.UtcNow - started));
        File.Move(part, destination, overwrite: true);
    }

    private async Task<long> Transfer(HubFile file, string part, long have, IncrementalHash sha, Action<long> report, CancellationToken cancellation)
    {
        var url = ResolveUrl(file.Repo, file.Path, file.Revision);
        var range = have > 0 ? new RangeHeaderValue(have, null) : null;
        using var response = await SendAsync(HttpMethod.Get, url, range, cancellation, followRedirects: true).ConfigureAwait(false);
        if ((int)response.StatusCode >= 500) throw new TransientException($"HTTP {(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.Host}");
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) { File.Delete(part); sha.GetHashAndReset(); throw new TransientException("the server refused to resume; starting over"); }
        await EnsureOk(response, url).ConfigureAwait(false);
        var append = false;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var cr = response.Content.Headers.ContentRange;
            if (cr?.From != have) throw new HubException($"the server answered the range {have}- with {cr}");
            append = true;
        }
        else if (have > 0)
        {
            sha.GetHashAndReset(); // the server ignored the Range header: start over
            have = 0;
        }
        await using var body = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using var output = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        var lastReport = Environment.TickCount64;
        while (true)
        {
            var n = await body.ReadAsync(buffer, cancellation).ConfigureAwait(false);
            if (n == 0) break;
            if (have + n > file.Size) throw new HubException($"{file.Path}: the server sent more than the {file.Size} bytes the Hub announced");
            await output.WriteAsync(buffer.AsMemory(0, n), cancellation).ConfigureAwait(false);
            sha.AppendData(buffer, 0, n);
            have += n;
            if (Environment.TickCount64 - lastReport >= 200) { report(have); lastReport = Environment.TickCount64; }
        }
        await output.FlushAsync(cancellation).ConfigureAwait(false);
        if (have < file.Size) throw new TransientException($"the connection closed after {FormatBytes(have)} of {FormatBytes(file.Size)}");
        return have;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, RangeHeaderValue? range, CancellationToken cancellation, bool followRedirects = false)
    {
        var target = url;
        for (var hop = 0; ; hop++)
        {
            var request = new HttpRequestMessage(method, target);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (range != null) request.Headers.Range = new RangeHeaderValue { Ranges = { range.Ranges.First() } };
            // The token goes to the Hub only, never to the CDN host a download is redirected to.
            if (_token != null && target.Host == Endpoint.Host && target.Port == Endpoint.Port) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (code is < 300 or > 399 || response.Headers.Location == null) return response;
            var next = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(target, response.Headers.Location);
            // A relative redirect (renamed repository) is followed even for metadata; a CDN one only for downloads.
            var sameHost = next.Host == Endpoint.Host && next.Port == Endpoint.Port;
            if (!followRedirects && !sameHost) return response;
            if (hop >= 10) throw new HubException($"too many redirects from {url}");
            response.Dispose();
            target = next;
        }
    }

    private static async Task EnsureOk(HttpResponseMessage response, Uri url)
    {
        if (response.IsSuccessStatusCode) return;
        var text = "";
        try { text = (await response.Content.ReadAsStringAsync().ConfigureAwait(false)).ReplaceLineEndings(" "); } catch (HttpRequestException) { }
        if (text.Length > 200) text = text[..200];
        throw new HubException($"HTTP {(int)response.StatusCode} from {url.Host} for {url.AbsolutePath}{(text.Length > 0 ? ": " + text : "")}");
    }

    private static string? Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : r.Content.Headers.TryGetValues(name, out var c) ? c.FirstOrDefault() : null;

    private static async Task HashExisting(string path, IncrementalHash sha, CancellationToken cancellation)
    {
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await input.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0) sha.AppendData(buffer, 0, n);
    }

    public static string FormatBytes(long b) => b switch
    {
        >= 1L << 30 => $"{b / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{b / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{b / 1024.0:0.0} KiB",
        _ => $"{b} B",
    };

    public void Dispose() => _http.Dispose();

    private sealed class TransientException(string message) : Exception(message);
}
