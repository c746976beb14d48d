using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Evacuationd.Server.Metrics;

/// <summary>
/// Listens to the instruments of the chosen meters (a <see cref="MeterListener"/>), keeps
/// their running totals in memory and renders them as Prometheus text (exposition format
/// 0.0.4) on demand. Counters become <c>counter</c> (<c>_total</c>), histograms
/// <c>histogram</c> (cumulative <c>_bucket</c> with <c>le</c>, <c>_sum</c>, <c>_count</c>; the
/// bucket boundaries are the instrument's advice, else Prometheus' defaults), up-down
/// counters and gauges <c>gauge</c>; observable instruments are read at each scrape.
/// Names: dots become underscores and the unit a suffix (<c>s</c> → <c>_seconds</c>; an
/// annotation such as <c>{claim}</c> adds nothing). Tags become labels.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of <see cref="Scrape"/>'s text.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Prometheus' default buckets, for histograms without advice.</summary>
    public static readonly IReadOnlyList<double> DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Func<Meter, bool> _include;
    private readonly MeterListener _listener;
    private readonly object _gate = new();
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <param name="include">Which meters to export (compare the instance, e.g. <c>m =&gt; m == metrics.Meter</c>).</param>
    public PrometheusExporter(Func<Meter, bool> include)
    {
        _include = include;
        _listener = new MeterListener
        {
            InstrumentPublished = OnPublished,
            MeasurementsCompleted = OnCompleted,
        };
        Listen<byte>(v => v);
        Listen<short>(v => v);
        Listen<int>(v => v);
        Listen<long>(v => v);
        Listen<float>(v => v);
        Listen<double>(v => v);
        Listen<decimal>(v => (double)v);
        _listener.Start();
    }

    /// <summary>Exports exactly these meters.</summary>
    public PrometheusExporter(params IReadOnlyCollection<Meter> meters)
        : this(m => meters.Contains(m))
    {
    }

    /// <summary>Every exported metric as Prometheus text; observable instruments are read now.</summary>
    public string Scrape()
    {
        var text = new StringBuilder(4096);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var f in _families.Values)
            {
                if (f.Observable)
                {
                    f.Series.Clear(); // only what the callbacks report now
                }
            }
            _listener.RecordObservableInstruments();
            foreach (var f in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                f.WriteTo(text);
            }
        }
        return text.ToString();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _listener.Dispose();
    }

    private void Listen<T>(Func<T, double> toDouble) where T : struct =>
        _listener.SetMeasurementEventCallback<T>((_, value, tags, state) => ((Source)state!).Record(toDouble(value), tags));

    private void OnPublished(Instrument instrument, MeterListener listener)
    {
        if (!_include(instrument.Meter) || Kind(instrument) is not { } kind)
        {
            return;
        }
        var name = PrometheusText.MetricName(instrument.Name, instrument.Unit, kind.Type == "counter");
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            if (!_families.TryGetValue(name, out var family))
            {
                family = new Family(name, instrument.Description ?? instrument.Name, kind.Type, instrument.IsObservable, kind.Type == "histogram" ? Boundaries(instrument) : null);
                _families.Add(name, family);
            }
            else if (family.Type != kind.Type || family.Observable != instrument.IsObservable)
            {
                return; // another instrument already exports this name with another meaning
            }
            family.Instruments++;
            var constant = (instrument.Meter.Tags ?? []).Concat(instrument.Tags ?? []).ToArray();
            listener.EnableMeasurementEvents(instrument, new Source(family, kind.Adds, constant));
        }
    }

    private void OnCompleted(Instrument instrument, object? state)
    {
        if (state is not Source exported)
        {
            return;
        }
        lock (_gate)
        {
            if (--exported.Family.Instruments == 0)
            {
                _families.Remove(exported.Family.Name);
            }
        }
    }

    /// <summary>The Prometheus type and whether a measurement adds (else it is the current value).</summary>
    private static (string Type, bool Adds)? Kind(Instrument instrument)
    {
        if (!instrument.GetType().IsGenericType)
        {
            return null;
        }
        var definition = instrument.GetType().GetGenericTypeDefinition();
        return definition switch
        {
            _ when definition == typeof(Counter<>) => ("counter", true),
            _ when definition == typeof(ObservableCounter<>) => ("counter", false),
            _ when definition == typeof(UpDownCounter<>) => ("gauge", true),
            _ when definition == typeof(ObservableUpDownCounter<>) => ("gauge", false),
            _ when definition == typeof(Gauge<>) => ("gauge", false),
            _ when definition == typeof(ObservableGauge<>) => ("gauge", false),
            _ when definition == typeof(Histogram<>) => ("histogram", true),
            _ => null,
        };
    }

    private static double[] Boundaries(Instrument instrument)
    {
        IEnumerable<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            _ => null,
        };
        var bounds = (advised ?? DefaultBuckets).Where(b => !double.IsNaN(b) && !double.IsInfinity(b)).Distinct().Order().ToArray();
        return bounds.Length > 0 ? bounds : [.. DefaultBuckets];
    }

    /// <summary>One instrument as exported: its family and its constant labels (meter and instrument tags).</summary>
    private sealed class Source(Family family, bool adds, KeyValuePair<string, object?>[] constant)
    {
        public Family Family { get; } = family;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (double.IsNaN(value))
            {
                return;
            }
            var labels = PrometheusText.Labels(constant, tags);
            var series = Family.Series.GetOrAdd(labels, static (l, f) => new Series(l, f.Bounds), Family);
            series.Record(value, adds);
        }
    }

    /// <summary>One metric family: one name, one type, its series by label set.</summary>
    private sealed class Family(string name, string help, string type, bool observable, double[]? bounds)
    {
        public string Name { get; } = name;

        public string Type { get; } = type;

        public bool Observable { get; } = observable;

        public double[]? Bounds { get; } = bounds;

        /// <summary>Instruments feeding this family (guarded by the exporter's gate).</summary>
        public int Instruments { get; set; }

        public ConcurrentDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public void WriteTo(StringBuilder text)
        {
            text.Append("# HELP ").Append(Name).Append(' ').Append(PrometheusText.EscapeHelp(help)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
            foreach (var s in Series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal))
            {
                s.WriteTo(text, Name, Bounds);
            }
        }
    }

    /// <summary>One label set's value (counter, gauge) or buckets, sum and count (histogram).</summary>
    private sealed class Series(string labels, double[]? bounds)
    {
        private readonly object _gate = new();
        private readonly long[]? _buckets = bounds is null ? null : new long[bounds.Length + 1];
        private double _value;
        private long _count;

        /// <summary>The rendered label pairs without braces (<c>a="x",b="y"</c>), sorted by name.</summary>
        public string Labels { get; } = labels;

        public void Record(double value, bool adds)
        {
            lock (_gate)
            {
                if (_buckets is not null)
                {
                    var i = Array.BinarySearch(bounds!, value);
                    _buckets[i >= 0 ? i : ~i]++; // le is inclusive: a value on a boundary counts in it
                    _value += value;
                    _count++;
                }
                else if (adds)
                {
                    _value += value;
                }
                else
                {
                    _value = value;
                }
            }
        }

        public void WriteTo(StringBuilder text, string name, double[]? bounds)
        {
            double value;
            long count;
            long[]? buckets;
            lock (_gate)
            {
                value = _value;
                count = _count;
                buckets = _buckets?.ToArray();
            }
            if (buckets is null)
            {
                Sample(text, name, Labels, null, value);
                return;
            }
            long cumulative = 0;
            for (var i = 0; i < buckets.Length; i++)
            {
                cumulative += buckets[i];
                var le = i < bounds!.Length ? PrometheusText.Number(bounds[i]) : "+Inf";
                Sample(text, name + "_bucket", Labels, le, cumulative);
            }
            Sample(text, name + "_sum", Labels, null, value);
            Sample(text, name + "_count", Labels, null, count);
        }

        private static void Sample(StringBuilder text, string name, string labels, string? le, double value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null)
                {
                    text.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
                }
                text.Append('}');
            }
            text.Append(' ').Append(PrometheusText.Number(value)).Append('\n');
        }
    }
}
