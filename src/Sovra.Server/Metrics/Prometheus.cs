using System.Globalization;
using System.Text;

namespace Sovra.Server.Metrics;

/// <summary>
/// A small Prometheus registry written in the text exposition format (version 0.0.4): counters, gauges
/// and histograms with labels. Written here rather than taken from a package because the node needs
/// only these three kinds and their output is easy to check line by line.
/// </summary>
public sealed class PrometheusRegistry
{
    private readonly List<IMetric> _metrics = [];

    public Counter Counter(string name, string help, params string[] labels) => Add(new Counter(name, help, labels));
    public Gauge Gauge(string name, string help, Func<double> read) => Add(new Gauge(name, help, read));
    public Histogram Histogram(string name, string help, double[] buckets) => Add(new Histogram(name, help, buckets));

    private T Add<T>(T metric) where T : IMetric
    {
        lock (_metrics) _metrics.Add(metric);
        return metric;
    }

    public string Render()
    {
        var sb = new StringBuilder();
        lock (_metrics)
            foreach (var m in _metrics) m.Render(sb);
        return sb.ToString();
    }

    internal static string Format(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    internal static string Escape(string v) => v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}

internal interface IMetric
{
    void Render(StringBuilder sb);
}

public sealed class Counter(string name, string help, string[] labels) : IMetric
{
    private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

    public void Inc(double by = 1, params string[] labelValues)
    {
        if (labelValues.Length != labels.Length) throw new ArgumentException($"{name} takes {labels.Length} labels");
        var key = string.Join("\u0001", labelValues);
        lock (_values) _values[key] = _values.GetValueOrDefault(key) + by;
    }

    public double Value(params string[] labelValues)
    {
        lock (_values) return _values.GetValueOrDefault(string.Join("\u0001", labelValues));
    }

    void IMetric.Render(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(" counter\n");
        lock (_values)
        {
            if (_values.Count == 0 && labels.Length == 0) sb.Append(name).Append(" 0\n");
            foreach (var (key, v) in _values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sb.Append(name);
                if (labels.Length > 0)
                {
                    var values = key.Split('\u0001');
                    sb.Append('{');
                    for (var i = 0; i < labels.Length; i++)
                        sb.Append(i > 0 ? "," : "").Append(labels[i]).Append("=\"").Append(PrometheusRegistry.Escape(values[i])).Append('"');
                    sb.Append('}');
                }
                sb.Append(' ').Append(PrometheusRegistry.Format(v)).Append('\n');
            }
        }
    }
}

public sealed class Gauge(string name, string help, Func<double> read) : IMetric
{
    void IMetric.Render(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(" gauge\n");
        sb.Append(name).Append(' ').Append(PrometheusRegistry.Format(read())).Append('\n');
    }
}

public sealed class Histogram(string name, string help, double[] buckets) : IMetric
{
    private readonly long[] _counts = new long[buckets.Length + 1];
    private double _sum;
    private long _count;

    public void Observe(double v)
    {
        lock (_counts)
        {
            var i = 0;
            while (i < buckets.Length && v > buckets[i]) i++;
            _counts[i]++;
            _sum += v;
            _count++;
        }
    }

    public long Count { get { lock (_counts) return _count; } }
    public double Sum { get { lock (_counts) return _sum; } }

    void IMetric.Render(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(" histogram\n");
        lock (_counts)
        {
            long cumulative = 0;
            for (var i = 0; i < buckets.Length; i++)
            {
                cumulative += _counts[i];
                sb.Append(name).Append("_bucket{le=\"").Append(PrometheusRegistry.Format(buckets[i])).Append("\"} ").Append(cumulative).Append('\n');
            }
            sb.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(_count).Append('\n');
            sb.Append(name).Append("_sum ").Append(PrometheusRegistry.Format(_sum)).Append('\n');
            sb.Append(name).Append("_count ").Append(_count).Append('\n');
        }
    }
}
