namespace Sovra.Gateway.Storage;

/// <summary>
/// Budget reservations in memory, for the embedded SQLite ledger, which one gateway process owns alone
/// (<see cref="SqliteOwnership"/>). The committed usage of each (key, period) is read from the database
/// once, then kept here beside what the requests in flight hold; a reservation is an atomic check-and-add
/// under one lock, so concurrent requests cannot spend the same room. The database only ever holds
/// committed usage, written with the ledger row in one transaction: a process that dies loses its
/// reservations with its memory, which is exactly what a reservation of a dead request must become.
/// PostgreSQL, shared by several gateway processes, keeps reservations in the database instead.
/// </summary>
public sealed class BudgetBook(GatewayStore store)
{
    private sealed class Account
    {
        public long Tokens, Money;                 // committed (in the database)
        public long TokensReserved, MoneyReserved; // held by requests in flight (here only)
    }

    private readonly Dictionary<(string KeyId, string Period), Account> _accounts = new();
    private readonly Lock _lock = new();

    public async ValueTask<ReserveOutcome> ReserveAsync(KeyRecord key, Reservation r, CancellationToken ct)
    {
        while (true)
        {
            var day = await AccountAsync(key.Id, r.DayPeriod, ct);
            var month = await AccountAsync(key.Id, r.MonthPeriod, ct);
            if (TryReserve(key, r, day, month) is { } outcome) return outcome;
        }
    }

    private ReserveOutcome? TryReserve(KeyRecord key, Reservation r, Account day, Account month)
    {
        lock (_lock)
        {
            // Dropped while this request waited (see DropIdle): take the accounts again.
            if (_accounts.GetValueOrDefault((key.Id, r.DayPeriod)) != day || _accounts.GetValueOrDefault((key.Id, r.MonthPeriod)) != month) return null;
            var dayTokens = Fits(day.Tokens + day.TokensReserved, r.Tokens, key.TokensPerDay);
            var dayMoney = Fits(day.Money + day.MoneyReserved, r.MoneyMicros, key.MoneyMicrosPerDay);
            if (!dayTokens || !dayMoney) return dayTokens ? ReserveOutcome.MoneyExceeded : ReserveOutcome.TokensExceeded;
            var monthTokens = Fits(month.Tokens + month.TokensReserved, r.Tokens, key.TokensPerMonth);
            var monthMoney = Fits(month.Money + month.MoneyReserved, r.MoneyMicros, key.MoneyMicrosPerMonth);
            if (!monthTokens || !monthMoney) return monthTokens ? ReserveOutcome.MoneyExceeded : ReserveOutcome.TokensExceeded;
            foreach (var a in (ReadOnlySpan<Account>)[day, month])
            {
                a.TokensReserved += r.Tokens;
                a.MoneyReserved += r.MoneyMicros;
            }
            return ReserveOutcome.Reserved;
        }
    }

    private static bool Fits(long used, long add, long? limit) => limit is not { } l || used + add <= l;

    /// <summary>
    /// After the ledger transaction that carried (or failed to carry) the request's row: the reservation is
    /// released, and the real usage counted when it was committed.
    /// </summary>
    public void Settle(Reservation r, long tokens, long money, bool committed)
    {
        lock (_lock)
        {
            foreach (var period in (ReadOnlySpan<string>)[r.DayPeriod, r.MonthPeriod])
            {
                if (!_accounts.TryGetValue((r.KeyId, period), out var a)) continue;
                a.TokensReserved -= r.Tokens;
                a.MoneyReserved -= r.MoneyMicros;
                if (!committed) continue;
                a.Tokens += tokens;
                a.Money += money;
            }
        }
    }

    private async ValueTask<Account> AccountAsync(string keyId, string period, CancellationToken ct)
    {
        lock (_lock)
            if (_accounts.TryGetValue((keyId, period), out var known)) return known;
        // First use of this period since start: its committed usage is in the database. Nothing of this
        // account can be settled before it is here (every settlement has a reservation made through it), so
        // the value read stays exact; when two requests load it at once the first one installed wins.
        var (tokens, _, money, _) = await store.BudgetAsync(keyId, period, ct);
        lock (_lock)
        {
            if (_accounts.TryGetValue((keyId, period), out var raced)) return raced;
            if (_accounts.Count > 100_000) DropIdle();
            var a = new Account { Tokens = tokens, Money = money };
            _accounts[(keyId, period)] = a;
            return a;
        }
    }

    // Old periods (yesterday, last month) stay in the dictionary until it grows large; then every account
    // with nothing in flight is dropped and read again from the database on its next use.
    private void DropIdle()
    {
        foreach (var (k, a) in _accounts)
            if (a.TokensReserved == 0 && a.MoneyReserved == 0) _accounts.Remove(k);
    }
}
