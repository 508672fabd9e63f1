using System.Globalization;
using System.Text;

namespace Sovra.Text.Templates;

/// <summary>Python's datetime.strftime in the C locale, for HF's strftime_now(format).</summary>
internal static class PyStrftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTimeOffset t, string fmt)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        for (var i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%' || i + 1 >= fmt.Length) { sb.Append(fmt[i]); continue; }
            var c = fmt[++i];
            var hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            sb.Append(c switch
            {
                'Y' => t.Year.ToString(inv),
                'y' => (t.Year % 100).ToString("00", inv),
                'm' => t.Month.ToString("00", inv),
                'd' => t.Day.ToString("00", inv),
                'e' => t.Day.ToString(inv).PadLeft(2),
                'H' => t.Hour.ToString("00", inv),
                'I' => hour12.ToString("00", inv),
                'M' => t.Minute.ToString("00", inv),
                'S' => t.Second.ToString("00", inv),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'A' => Days[(int)t.DayOfWeek],
                'a' => Days[(int)t.DayOfWeek][..3],
                'B' => Months[t.Month - 1],
                'b' or 'h' => Months[t.Month - 1][..3],
                'j' => t.DayOfYear.ToString("000", inv),
                'w' => ((int)t.DayOfWeek).ToString(inv),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(inv),
                'F' => t.ToString("yyyy-MM-dd", inv),
                'T' => t.ToString("HH:mm:ss", inv),
                'D' => t.ToString("MM/dd/yy", inv),
                'z' => (t.Offset < TimeSpan.Zero ? "-" : "+") + t.Offset.ToString("hhmm", inv),
                '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }
}
