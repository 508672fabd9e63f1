using Microsoft.Extensions.Logging.Abstractions;
using Sovra.Gateway.Config;
using Sovra.Gateway.Storage;
using Sovra.TestSupport;

namespace Sovra.Gateway.Tests;

/// <summary>
/// The embedded ledger's row log: what is appended reads back field for field; a record cut short by a
/// kill is ignored and everything before it kept; damage and hostile bytes stop the read with a verdict,
/// never an exception; and ingesting a log into SQLite twice counts each row and its charge once.
/// </summary>
public class RowLogTests
{
    private static LedgerEntry Row(int i, bool reserved = true, bool stored = false) => new(
        $"req_{i:D6}", 1_764_000_000_000 + i, "acme", "key_1", "m1", i % 3 == 0 ? null : "b", 10 + i, 20 + i, 3 * i, 7, i % 2 == 0 ? null : 3,
        200, "ok", i % 5 == 0, stored ? $"idem-{i}" : null,
        reserved ? new Reservation("rsv", "key_1", "d2025-11-24", "m2025-11", 100, 200, 0) : null,
        stored ? new StoredResponse(200, "application/json", [1, 2, 3, (byte)i]) : null, stored ? "hash" : null);

    private sealed class Dir : IDisposable
    {
        public string Path { get; } = RepoPaths.Scratch("gw-rowlog-" + Guid.NewGuid().ToString("N")[..6]);
        public string Db => System.IO.Path.Combine(Path, "ledger.db");
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }

    private static List<LedgerEntry> ReadBack(string path, out RowLog.Tail tail, long limit = long.MaxValue)
    {
        var rows = new List<LedgerEntry>();
        tail = RowLog.ReadAll(path, 3, batch => rows.AddRange(batch), limit);
        return rows;
    }

    [Fact]
    public void Every_field_reads_back_as_written()
    {
        using var dir = new Dir();
        var written = Enumerable.Range(0, 10).Select(i => Row(i, reserved: i % 2 == 0, stored: i % 4 == 1))
            .Append(Row(99) with { Tenant = "ünïcødé ✓", Model = "模型", Outcome = "client_disconnected" }).ToList();
        using (var log = new RowLog(dir.Db))
            foreach (var e in written) log.Append(e);
        var read = ReadBack(RowLog.PathsOf(dir.Db)[0], out var tail);
        Assert.Equal(RowLog.Tail.Clean, tail);
        Assert.Equal(written.Count, read.Count);
        for (var i = 0; i < written.Count; i++)
        {
            var (w, r) = (written[i], read[i]);
            // The reservation's amounts stay in memory; only the periods it charges travel.
            Assert.Equal(w with { Reservation = null, IdempotentResponse = null }, r with { Reservation = null, IdempotentResponse = null });
            Assert.Equal((w.Reservation?.DayPeriod, w.Reservation?.MonthPeriod), (r.Reservation?.DayPeriod, r.Reservation?.MonthPeriod));
            Assert.Equal(w.IdempotentResponse?.Body, r.IdempotentResponse?.Body);
            Assert.Equal(w.IdempotentResponse?.ContentType, r.IdempotentResponse?.ContentType);
        }
    }

    [Fact]
    public void A_record_cut_short_anywhere_keeps_every_row_before_it()
    {
        using var dir = new Dir();
        using (var log = new RowLog(dir.Db))
            for (var i = 0; i < 4; i++) log.Append(Row(i, stored: i == 3));
        var path = RowLog.PathsOf(dir.Db)[0];
        var bytes = File.ReadAllBytes(path);
        var whole = ReadBack(path, out _);
        var lastStart = bytes.Length - RecordLength(whole[3]);
        for (var cut = lastStart; cut < bytes.Length; cut++)
        {
            File.WriteAllBytes(path, bytes[..cut]);
            var rows = ReadBack(path, out var tail);
            Assert.Equal(3, rows.Count);
            Assert.Equal(cut == lastStart ? RowLog.Tail.Clean : RowLog.Tail.Torn, tail);
        }
        // A sealed segment is read only up to its length: bytes after it (a write that failed part-way) are not rows.
        File.WriteAllBytes(path, bytes);
        Assert.Equal(3, ReadBack(path, out var limited, lastStart + 5).Count);
        Assert.Equal(RowLog.Tail.Torn, limited);
    }

    private static int RecordLength(LedgerEntry e)
    {
        using var dir = new Dir();
        using (var log = new RowLog(dir.Db)) log.Append(e);
        return (int)new FileInfo(RowLog.PathsOf(dir.Db)[0]).Length;
    }

    [Fact]
    public void A_changed_byte_stops_the_read_as_damaged_with_the_rows_before_it()
    {
        using var dir = new Dir();
        using (var log = new RowLog(dir.Db))
            for (var i = 0; i < 5; i++) log.Append(Row(i));
        var path = RowLog.PathsOf(dir.Db)[0];
        var bytes = File.ReadAllBytes(path);
        var thirdStart = RecordLength(Row(0)) + RecordLength(Row(1));
        for (var at = thirdStart; at < thirdStart + RecordLength(Row(2)); at++)
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x20;
            File.WriteAllBytes(path, copy);
            var rows = ReadBack(path, out var tail);
            Assert.Equal(2, rows.Count);
            Assert.Equal(RowLog.Tail.Damaged, tail);
        }
    }

    [Fact]
    public void Hostile_bytes_give_a_verdict_not_an_exception()
    {
        using var dir = new Dir();
        var path = RowLog.PathsOf(dir.Db)[0];
        var rnd = new Random(11);
        for (var n = 0; n < 300; n++)
        {
            var junk = new byte[rnd.Next(0, 200)];
            rnd.NextBytes(junk);
            if (n % 3 == 0 && junk.Length >= 12)
            {
                // A well-formed length far past the limit.
                BitConverter.TryWriteBytes(junk.AsSpan(0, 4), int.MaxValue);
                BitConverter.TryWriteBytes(junk.AsSpan(4, 4), ~int.MaxValue);
            }
            File.WriteAllBytes(path, junk);
            var rows = ReadBack(path, out var tail);
            Assert.Empty(rows);
            Assert.Equal(junk.Length == 0, tail == RowLog.Tail.Clean);
        }
        // A valid checksum over a payload that does not decode is damage too.
        var payload = new byte[] { 0xFF, 1, 2, 3 };
        var record = new byte[12 + payload.Length];
        BitConverter.TryWriteBytes(record.AsSpan(0, 4), payload.Length);
        BitConverter.TryWriteBytes(record.AsSpan(4, 4), ~payload.Length);
        BitConverter.TryWriteBytes(record.AsSpan(8, 4), RowLog.Crc32C(payload));
        payload.CopyTo(record, 12);
        File.WriteAllBytes(path, record);
        Assert.Empty(ReadBack(path, out var t));
        Assert.Equal(RowLog.Tail.Damaged, t);
    }

    [Fact]
    public void Sealing_moves_appends_to_the_other_segment_and_needs_it_empty()
    {
        using var dir = new Dir();
        using var log = new RowLog(dir.Db);
        log.Append(Row(1));
        var first = log.Seal();
        log.Append(Row(2));
        Assert.Same(first, log.Sealed);
        Assert.Throws<InvalidOperationException>(() => log.Seal());
        log.Empty(first);
        Assert.Null(log.Sealed);
        Assert.Equal(0, new FileInfo(first.Path).Length);
        var second = log.Seal();
        Assert.NotEqual(first.Path, second.Path);
        Assert.Equal("req_000002", Assert.Single(ReadBack(second.Path, out _)).RequestId);
    }

    [Fact]
    public async Task Ingesting_a_log_twice_counts_each_row_and_its_charge_once()
    {
        using var dir = new Dir();
        var config = new LedgerConfig(LedgerKind.Sqlite, dir.Db, false, 1);
        await using (var migrate = new GatewayStore(config)) await migrate.MigrateAsync(default);
        using (var log = new RowLog(dir.Db))
        {
            for (var i = 0; i < 6; i++) log.Append(Row(i, stored: i == 1));
            log.Seal();
            for (var i = 6; i < 9; i++) log.Append(Row(i));
        }
        await using var store = new GatewayStore(config);
        StoreWriter.IngestFiles(store, emptyAfter: false, NullLogger.Instance);
        StoreWriter.IngestFiles(store, emptyAfter: false, NullLogger.Instance); // a crash between the commit and emptying the files
        var rows = await store.LedgerRowsAsync(default); // its own first read ingests them a third time
        Assert.Equal(9, rows.Count);
        var month = await store.BudgetAsync("key_1", "m2025-11", default);
        Assert.Equal(Enumerable.Range(0, 9).Sum(i => 30 + 2 * i), month.Tokens);
        Assert.Equal(Enumerable.Range(0, 9).Sum(i => 3 * i), month.Money);
        Assert.Equal(IdempotencyState.Replay, (await store.FindIdempotentAsync("key_1", "idem-1", "hash", default)).State);
        StoreWriter.IngestFiles(store, emptyAfter: true, NullLogger.Instance);
        Assert.All(RowLog.PathsOf(dir.Db), p => Assert.Equal(0, new FileInfo(p).Length));
    }

    [Fact]
    public async Task A_damaged_log_at_start_is_ingested_up_to_the_damage_and_kept_for_the_operator()
    {
        using var dir = new Dir();
        var config = new LedgerConfig(LedgerKind.Sqlite, dir.Db, false, 1);
        await using (var migrate = new GatewayStore(config)) await migrate.MigrateAsync(default);
        using (var log = new RowLog(dir.Db))
            for (var i = 0; i < 4; i++) log.Append(Row(i));
        var path = RowLog.PathsOf(dir.Db)[0];
        var bytes = File.ReadAllBytes(path);
        bytes[RecordLength(Row(0)) + RecordLength(Row(1)) + 10] ^= 1; // inside the third record
        File.WriteAllBytes(path, bytes);
        await using var store = new GatewayStore(config);
        StoreWriter.IngestFiles(store, emptyAfter: true, NullLogger.Instance);
        Assert.Equal(2, (await store.LedgerRowsAsync(default)).Count);
        var aside = Assert.Single(Directory.GetFiles(dir.Path, "ledger.db-rows-0.damaged-*"));
        Assert.Equal(bytes, File.ReadAllBytes(aside));
        Assert.Equal(0, new FileInfo(path).Length);
    }
}
