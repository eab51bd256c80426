using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace CyAgents.SystemApi.Metrics;

/// <summary>
/// A small exporter of our own (ADR 0110): listens to the <c>CyAgents</c> meter of one host, keeps a sum per counter series, a
/// last value per gauge series and cumulative buckets per histogram series, and writes them in the Prometheus text exposition
/// format 0.0.4. Series per instrument are capped (<see cref="MaxSeriesPerInstrument"/>) so no label can grow memory unbounded.
/// </summary>
public sealed class PrometheusExposition : IDisposable
{
    /// <summary>Most label sets kept per instrument; measurements of further label sets are counted in <see cref="DroppedSeries"/>.</summary>
    public const int MaxSeriesPerInstrument = 2000;

    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<Instrument, Family> _families = [];
    private long _droppedSeries;

    /// <summary>Listens to <paramref name="meter"/> only.</summary>
    public PrometheusExposition(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, meter)) return;
            lock (_gate) _families[instrument] = new Family(instrument);
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>Measurements not kept because their instrument had <see cref="MaxSeriesPerInstrument"/> label sets already.</summary>
    public long DroppedSeries => Interlocked.Read(ref _droppedSeries);

    /// <summary>The content type of <see cref="Write"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Reads the observable instruments and writes every family, sorted by name.</summary>
    public string Write()
    {
        lock (_gate)
            foreach (var f in _families.Values.Where(f => f.Kind == Kind.Gauge)) f.Series.Clear();
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        lock (_gate)
            foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
                family.WriteTo(text);
        return text.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        lock (_gate)
        {
            if (!_families.TryGetValue(instrument, out var family)) return;
            if (!family.Series.TryGetValue(labels, out var series))
            {
                if (family.Series.Count >= MaxSeriesPerInstrument)
                {
                    Interlocked.Increment(ref _droppedSeries);
                    return;
                }
                family.Series[labels] = series = new Series(family.Buckets.Length);
            }
            series.Add(family, value);
        }
    }

    /// <summary>Labels as written between the braces, sorted by name so one label set is always one series.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0) return "";
        var pairs = new List<(string, string)>(tags.Length);
        foreach (var t in tags) pairs.Add((t.Key, Convert.ToString(t.Value, CultureInfo.InvariantCulture) ?? ""));
        pairs.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return string.Join(",", pairs.Select(p => $"{p.Item1}=\"{Escape(p.Item2)}\""));
    }

    private static string Escape(string value) => value.Replace("\\", @"\\").Replace("\"", "\\\"").Replace("\n", @"\n");

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private enum Kind { Counter, Gauge, Histogram }

    private sealed class Family
    {
        public Family(Instrument instrument)
        {
            var type = instrument.GetType().GetGenericTypeDefinition();
            Kind = type == typeof(Histogram<>) ? Kind.Histogram
                : type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? Kind.Counter
                : Kind.Gauge;
            Name = Kind == Kind.Counter && !instrument.Name.EndsWith("_total", StringComparison.Ordinal) ? instrument.Name + "_total" : instrument.Name;
            Help = instrument.Description ?? instrument.Name;
            Buckets = Kind == Kind.Histogram
                ? (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBuckets
                : [];
            // Observable counters report their running total: the exporter keeps the last value, not a sum.
            Cumulative = type == typeof(ObservableCounter<>);
        }

        public Kind Kind { get; }
        public string Name { get; }
        public string Help { get; }
        public double[] Buckets { get; }
        public bool Cumulative { get; }
        public Dictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public void WriteTo(StringBuilder text)
        {
            if (Series.Count == 0) return;
            text.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", @"\\").Replace("\n", @"\n")).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(Kind switch { Kind.Counter => "counter", Kind.Gauge => "gauge", _ => "histogram" }).Append('\n');
            foreach (var (labels, s) in Series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                if (Kind != Kind.Histogram)
                {
                    Line(text, Name, labels, null, s.Value);
                    continue;
                }
                long cumulative = 0;
                for (var b = 0; b < Buckets.Length; b++)
                {
                    cumulative += s.Counts[b];
                    Line(text, Name + "_bucket", labels, Number(Buckets[b]), cumulative);
                }
                Line(text, Name + "_bucket", labels, "+Inf", s.Count);
                Line(text, Name + "_sum", labels, null, s.Value);
                Line(text, Name + "_count", labels, null, s.Count);
            }
        }

        private static void Line(StringBuilder text, string name, string labels, string? le, double value)
        {
            text.Append(name);
            var all = le is null ? labels : labels.Length == 0 ? $"le=\"{le}\"" : $"{labels},le=\"{le}\"";
            if (all.Length > 0) text.Append('{').Append(all).Append('}');
            text.Append(' ').Append(Number(value)).Append('\n');
        }
    }

    private sealed class Series(int buckets)
    {
        public double Value { get; private set; }
        public long Count { get; private set; }
        public long[] Counts { get; } = new long[buckets];

        public void Add(Family family, double value)
        {
            switch (family.Kind)
            {
                case Kind.Gauge:
                    Value = value;
                    return;
                case Kind.Counter:
                    Value = family.Cumulative ? value : Value + value;
                    return;
                default:
                    Value += value;
                    Count++;
                    var i = Array.FindIndex(family.Buckets, b => value <= b);
                    if (i >= 0) Counts[i]++;
                    return;
            }
        }
    }
}
