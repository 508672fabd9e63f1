using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Sovra.Gateway.Storage;

/// <summary>
/// The embedded ledger's row log: two append-only files beside the SQLite database
/// ("&lt;ledger&gt;-rows-0" and "-rows-1"). A request's row is appended to the open one with one positional
/// write on the request's own thread before its answer ends; once write() returns the row is in the
/// kernel's page cache, which a killed process (SIGKILL included) cannot take back. The ledger writer
/// then moves the rows into SQLite in large transactions (<see cref="StoreWriter"/>): it seals the open
/// file (new rows go to the other one), ingests the sealed one and empties it. Ingestion is exactly
/// once by request id (a row already in the table is skipped, and so is its charge), so a file that is
/// ingested twice — after a crash between the commit and the truncation — changes nothing.
/// Record: [u32 payload length][u32 its complement][u32 CRC-32C of the payload][payload], little-endian.
/// A record cut short at the end of a file is a write that a kill interrupted (never acknowledged); it is
/// ignored. The length is stored twice so that a damaged length reads as damage, not as a cut-short end.
/// </summary>
public sealed class RowLog : IDisposable
{
    private const int HeaderBytes = 12;
    /// <summary>The largest payload read back (a stored idempotent answer is at most the response limit, 64 MB).</summary>
    internal const int MaxPayload = (64 << 20) + (1 << 20);

    /// <summary>One of the two files and how much of it is written.</summary>
    internal sealed class Segment(string path, SafeFileHandle handle)
    {
        public string Path { get; } = path;
        public SafeFileHandle Handle { get; } = handle;
        public long Length;
    }

    private readonly Segment[] _segments;
    private readonly Lock _lock = new();
    private int _open; // the segment appends go to
    private bool _disposed;

    /// <summary>The two file names of a ledger's row log.</summary>
    public static string[] PathsOf(string databasePath) => [databasePath + "-rows-0", databasePath + "-rows-1"];

    /// <summary>Opens (creating) both files; call only once what they held is ingested (<see cref="ReadAll"/>), since appends start at their current ends.</summary>
    public RowLog(string databasePath)
    {
        var paths = PathsOf(databasePath);
        _segments = new Segment[paths.Length];
        try
        {
            for (var i = 0; i < paths.Length; i++)
            {
                var h = File.OpenHandle(paths[i], FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
                _segments[i] = new Segment(paths[i], h) { Length = RandomAccess.GetLength(h) };
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Appends one row; when this returns the row survives the process. Throws (nothing acknowledged) when the write fails.</summary>
    public void Append(LedgerEntry e)
    {
        var size = HeaderBytes + PayloadSize(e);
        var buf = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var payload = buf.AsSpan(HeaderBytes, size - HeaderBytes);
            Encode(e, payload);
            BinaryPrimitives.WriteUInt32LittleEndian(buf, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(4), ~(uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(8), Crc32C(payload));
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var s = _segments[_open];
                RandomAccess.Write(s.Handle, buf.AsSpan(0, size), s.Length);
                s.Length += size;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Bytes appended to the open segment, not yet sealed.</summary>
    public long Pending
    {
        get { lock (_lock) return _segments[_open].Length; }
    }

    /// <summary>Switches appends to the other segment and returns the one that was open; that one must be empty (<see cref="Empty"/>) before the next seal.</summary>
    internal Segment Seal()
    {
        lock (_lock)
        {
            var sealedOne = _segments[_open];
            var next = _segments[1 - _open];
            if (next.Length != 0) throw new InvalidOperationException("the other row-log segment still holds rows");
            _open = 1 - _open;
            return sealedOne;
        }
    }

    /// <summary>The sealed segment that still holds rows (an ingestion failed or is due), or null.</summary>
    internal Segment? Sealed
    {
        get
        {
            lock (_lock)
            {
                var s = _segments[1 - _open];
                return s.Length > 0 ? s : null;
            }
        }
    }

    /// <summary>Empties a sealed segment whose rows are committed to SQLite.</summary>
    internal void Empty(Segment s)
    {
        lock (_lock)
        {
            if (s == _segments[_open]) throw new InvalidOperationException("the open row-log segment cannot be emptied");
            RandomAccess.SetLength(s.Handle, 0);
            s.Length = 0;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var s in _segments) s?.Handle.Dispose();
        }
    }

    // ---- reading ----

    /// <summary>What reading a file found besides its rows.</summary>
    public enum Tail { Clean, Torn, Damaged }

    /// <summary>
    /// Reads the rows of one file in order, <paramref name="batch"/> at a time, handing each batch to
    /// <paramref name="onBatch"/>. Stops at the end, at a record cut short (<see cref="Tail.Torn"/>: the last
    /// write of a killed process), or at a record that fails its checksum or does not decode with more
    /// bytes after it (<see cref="Tail.Damaged"/>: the file was changed by something else).
    /// </summary>
    public static Tail ReadAll(string path, int batch, Action<List<LedgerEntry>> onBatch, long limit = long.MaxValue)
    {
        if (!File.Exists(path)) return Tail.Clean;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        return ReadAll(f, batch, onBatch, limit);
    }

    /// <param name="limit">Bytes of the file that hold records (a sealed segment's length: anything after it is not a row).</param>
    internal static Tail ReadAll(Stream f, int batch, Action<List<LedgerEntry>> onBatch, long limit = long.MaxValue)
    {
        var rows = new List<LedgerEntry>(Math.Min(batch, 4096));
        var header = new byte[HeaderBytes];
        var payload = new byte[4096];
        var tail = Tail.Clean;
        while (true)
        {
            var left = limit - f.Position;
            if (left <= 0) break;
            var got = f.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
            if (got == 0) break;
            if (got < HeaderBytes || left < HeaderBytes)
            {
                tail = Tail.Torn;
                break;
            }
            var len = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
            if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)) != ~len || len > MaxPayload)
            {
                tail = Tail.Damaged;
                break;
            }
            if (payload.Length < len) payload = new byte[Math.Max(len, payload.Length * 2)];
            var body = payload.AsSpan(0, (int)len);
            if (HeaderBytes + (long)len > left || f.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
            {
                tail = Tail.Torn;
                break;
            }
            if (Crc32C(body) != crc || !TryDecode(body, out var e))
            {
                tail = Tail.Damaged;
                break;
            }
            rows.Add(e);
            if (rows.Count >= batch)
            {
                onBatch(rows);
                rows.Clear();
            }
        }
        if (rows.Count > 0) onBatch(rows);
        return tail;
    }

    // ---- the record ----

    private const byte HasReservation = 1, HasResponse = 2, Disconnected = 4;

    private static int Str(string? s) => 4 + (s is null ? 0 : Encoding.UTF8.GetByteCount(s));

    private static int PayloadSize(LedgerEntry e) =>
        1 + Str(e.RequestId) + 8 + Str(e.Tenant) + Str(e.KeyId) + Str(e.Model) + Str(e.Backend) + 8 * 3 + 4 * 3 + Str(e.Outcome)
        + Str(e.IdempotencyKey) + Str(e.RequestHash)
        + (e.Reservation is { } r ? Str(r.DayPeriod) + Str(r.MonthPeriod) : 0)
        + (e.IdempotentResponse is { } resp ? 4 + Str(resp.ContentType) + 4 + resp.Body.Length : 0);

    /// <summary>
    /// What ingestion needs of a row: its columns, the periods its usage is charged to (only when it held a
    /// reservation, as the group commit charges) and its replayable answer. The reservation's own amounts
    /// are not kept: they live and die in the process's memory (<see cref="BudgetBook"/>).
    /// </summary>
    private static void Encode(LedgerEntry e, Span<byte> b)
    {
        var w = new Writer(b);
        w.Byte((byte)((e.Reservation is null ? 0 : HasReservation) | (e.IdempotentResponse is null ? 0 : HasResponse) | (e.ClientDisconnected ? Disconnected : 0)));
        w.Str(e.RequestId);
        w.I64(e.TsMs);
        w.Str(e.Tenant);
        w.Str(e.KeyId);
        w.Str(e.Model);
        w.Str(e.Backend);
        w.I64(e.TokensIn);
        w.I64(e.TokensOut);
        w.I64(e.CostMicros);
        w.I32(e.LatencyMs);
        w.I32(e.TtftMs ?? -1);
        w.I32(e.Status);
        w.Str(e.Outcome);
        w.Str(e.IdempotencyKey);
        w.Str(e.RequestHash);
        if (e.Reservation is { } r)
        {
            w.Str(r.DayPeriod);
            w.Str(r.MonthPeriod);
        }
        if (e.IdempotentResponse is { } resp)
        {
            w.I32(resp.Status);
            w.Str(resp.ContentType);
            w.I32(resp.Body.Length);
            w.Bytes(resp.Body);
        }
        if (w.Written != b.Length) throw new InvalidOperationException("row-log record size mismatch");
    }

    internal static bool TryDecode(ReadOnlySpan<byte> b, out LedgerEntry e)
    {
        e = null!;
        var r = new Reader(b);
        if (!r.Byte(out var flags) || (flags & ~(HasReservation | HasResponse | Disconnected)) != 0) return false;
        if (!r.Str(out var id) || id is null || !r.I64(out var ts) || !r.Str(out var tenant) || tenant is null || !r.Str(out var key) || key is null
            || !r.Str(out var model) || model is null || !r.Str(out var backend) || !r.I64(out var tin) || !r.I64(out var tout) || !r.I64(out var cost)
            || !r.I32(out var latency) || !r.I32(out var ttft) || !r.I32(out var status) || !r.Str(out var outcome) || outcome is null
            || !r.Str(out var idem) || !r.Str(out var hash)) return false;
        Reservation? res = null;
        if ((flags & HasReservation) != 0)
        {
            if (!r.Str(out var day) || day is null || !r.Str(out var month) || month is null) return false;
            // Only the periods are used again (what ingestion charges); the amounts were this process's estimate.
            res = new Reservation("", key, day, month, 0, 0, 0);
        }
        StoredResponse? stored = null;
        if ((flags & HasResponse) != 0)
        {
            if (!r.I32(out var st) || !r.Str(out var ct) || ct is null || !r.I32(out var n) || n < 0 || !r.Bytes(n, out var body)) return false;
            stored = new StoredResponse(st, ct, body);
        }
        if (!r.AtEnd) return false;
        e = new LedgerEntry(id, ts, tenant, key, model, backend, tin, tout, cost, latency, ttft < 0 ? null : ttft, status, outcome,
            (flags & Disconnected) != 0, idem, res, stored, hash);
        return true;
    }

    private ref struct Writer(Span<byte> b)
    {
        private readonly Span<byte> _b = b;
        public int Written;

        public void Byte(byte v) => _b[Written++] = v;

        public void I32(int v)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_b[Written..], v);
            Written += 4;
        }

        public void I64(long v)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_b[Written..], v);
            Written += 8;
        }

        public void Str(string? s)
        {
            if (s is null)
            {
                I32(-1);
                return;
            }
            var n = Encoding.UTF8.GetBytes(s, _b[(Written + 4)..]);
            I32(n);
            Written += n;
        }

        public void Bytes(ReadOnlySpan<byte> v)
        {
            v.CopyTo(_b[Written..]);
            Written += v.Length;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private ref struct Reader(ReadOnlySpan<byte> b)
    {
        private readonly ReadOnlySpan<byte> _b = b;
        private int _at;

        public readonly bool AtEnd => _at == _b.Length;

        public bool Byte(out byte v)
        {
            v = 0;
            if (_b.Length - _at < 1) return false;
            v = _b[_at++];
            return true;
        }

        public bool I32(out int v)
        {
            v = 0;
            if (_b.Length - _at < 4) return false;
            v = BinaryPrimitives.ReadInt32LittleEndian(_b[_at..]);
            _at += 4;
            return true;
        }

        public bool I64(out long v)
        {
            v = 0;
            if (_b.Length - _at < 8) return false;
            v = BinaryPrimitives.ReadInt64LittleEndian(_b[_at..]);
            _at += 8;
            return true;
        }

        public bool Str(out string? s)
        {
            s = null;
            if (!I32(out var n) || n < -1 || n > _b.Length - _at) return false;
            if (n == -1) return true;
            try { s = StrictUtf8.GetString(_b.Slice(_at, n)); }
            catch (DecoderFallbackException) { return false; }
            _at += n;
            return true;
        }

        public bool Bytes(int n, out byte[] v)
        {
            v = [];
            if (n > _b.Length - _at) return false;
            v = _b.Slice(_at, n).ToArray();
            _at += n;
            return true;
        }
    }

    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var x in data) crc = BitOperations.Crc32C(crc, x);
        return ~crc;
    }
}
