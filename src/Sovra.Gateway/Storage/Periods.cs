using System.Globalization;

namespace Sovra.Gateway.Storage;

/// <summary>
/// The UTC day ("yyyy-MM-dd") of a time, and the budget periods of it ("d" + day, "m" + "yyyy-MM"), made
/// once per day rather than formatted for every request and ledger row.
/// </summary>
internal static class Periods
{
    private sealed record Day(long Number, string Text, string DayPeriod, string MonthPeriod);

    private static Day? s_last;

    private static Day For(long tsMs)
    {
        var number = Math.DivRem(tsMs, 86_400_000L, out var rem) - (rem < 0 ? 1 : 0);
        var last = Volatile.Read(ref s_last);
        if (last is not null && last.Number == number) return last;
        var utc = DateTimeOffset.FromUnixTimeMilliseconds(tsMs).UtcDateTime;
        var day = new Day(number, utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "d" + utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "m" + utc.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        Volatile.Write(ref s_last, day);
        return day;
    }

    /// <summary>The UTC day of a time, as the ledger's day column holds it.</summary>
    public static string DayOf(long tsMs) => For(tsMs).Text;

    /// <summary>The day and month budget periods of a time.</summary>
    public static (string Day, string Month) Of(long tsMs)
    {
        var d = For(tsMs);
        return (d.DayPeriod, d.MonthPeriod);
    }
}
