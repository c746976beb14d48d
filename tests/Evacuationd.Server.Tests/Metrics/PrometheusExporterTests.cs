using System.Diagnostics.Metrics;
using Evacuationd.Server.Metrics;

namespace Evacuationd.Server.Tests.Metrics;

/// <summary>How instruments of any kind become Prometheus text, without the listener.</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new("Evacuationd.Tests.Exporter");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() => _exporter = new PrometheusExporter(_meter);

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    private string[] Lines() => _exporter.Scrape().Split('\n');

    [Theory]
    [InlineData("evacuationd.nova.call.duration", "s", false, "evacuationd_nova_call_duration_seconds")]
    [InlineData("http.server.request.duration", "ms", false, "http_server_request_duration_milliseconds")]
    [InlineData("evacuationd.claims", "{claim}", true, "evacuationd_claims_total")]
    [InlineData("process.memory", "By", false, "process_memory_bytes")]
    [InlineData("net.throughput", "By/s", false, "net_throughput_bytes_per_second")]
    [InlineData("queue.rate", "{item}/min", false, "queue_rate_per_minute")]
    [InlineData("cpu.utilization", "1", false, "cpu_utilization")]
    [InlineData("requests_total", null, true, "requests_total")]
    [InlineData("wait_seconds", "s", false, "wait_seconds")]
    [InlineData("odd-name/with spaces", "", false, "odd_name_with_spaces")]
    [InlineData("9lives", null, false, "_9lives")]
    public void NamesGetUnitSuffixesAndCountersTotal(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusText.MetricName(instrument, unit, counter));

    [Fact]
    public void UpDownCountersAndGaugesAreGauges()
    {
        var inflight = _meter.CreateUpDownCounter<int>("work.inflight", "{item}", "Items in progress");
        var temperature = _meter.CreateGauge<double>("room.temperature", "Cel", "Last reading");
        inflight.Add(5);
        inflight.Add(-2);
        temperature.Record(21.5);
        temperature.Record(19.25);

        var families = ExpositionText.Parse(_exporter.Scrape());

        Assert.Equal("gauge", families["work_inflight"].Type);
        Assert.Equal(3, families.Value("work_inflight", "work_inflight"));
        Assert.Equal("gauge", families["room_temperature_Cel"].Type);
        Assert.Equal(19.25, families.Value("room_temperature_Cel", "room_temperature_Cel"));
    }

    [Fact]
    public void ObservableCountersReportTheirTotalAsIs()
    {
        long total = 7;
        _meter.CreateObservableCounter("jobs.done", () => total, "{job}", "Jobs done");

        var first = ExpositionText.Parse(_exporter.Scrape());
        total = 9;
        var second = ExpositionText.Parse(_exporter.Scrape());

        Assert.Equal("counter", first["jobs_done_total"].Type);
        Assert.Equal(7, first.Value("jobs_done_total", "jobs_done_total"));
        Assert.Equal(9, second.Value("jobs_done_total", "jobs_done_total"));
    }

    [Fact]
    public void LabelValuesAndHelpAreEscaped()
    {
        var counter = _meter.CreateCounter<long>("escapes", null, "line one\nback\\slash");
        counter.Add(1, new KeyValuePair<string, object?>("why", "a \"quoted\" \\ value\non two lines"), new KeyValuePair<string, object?>("odd.key", 42));

        var text = _exporter.Scrape();

        Assert.Contains("# HELP escapes_total line one\\nback\\\\slash\n", text, StringComparison.Ordinal);
        Assert.Contains("escapes_total{odd_key=\"42\",why=\"a \\\"quoted\\\" \\\\ value\\non two lines\"} 1\n", text, StringComparison.Ordinal);
        var families = ExpositionText.Parse(text);
        Assert.Equal("line one\nback\\slash", families["escapes_total"].Help);
        Assert.Equal(1, families.Value("escapes_total", "escapes_total", ("odd_key", "42"), ("why", "a \"quoted\" \\ value\non two lines")));
    }

    [Fact]
    public void TagOrderDoesNotSplitASeries()
    {
        var counter = _meter.CreateCounter<long>("ordered");
        counter.Add(1, new KeyValuePair<string, object?>("b", "2"), new KeyValuePair<string, object?>("a", "1"));
        counter.Add(1, new KeyValuePair<string, object?>("a", "1"), new KeyValuePair<string, object?>("b", "2"));

        Assert.Contains("ordered_total{a=\"1\",b=\"2\"} 2", Lines());
    }

    [Fact]
    public void InstrumentTagsAreLabelsOfEverySeries()
    {
        using var tagged = new Meter(new MeterOptions("Evacuationd.Tests.Tagged") { Tags = [new("daemon", "d-1")] });
        using var exporter = new PrometheusExporter(tagged);
        var counter = tagged.CreateCounter<long>("tagged", null, null, [new("role", "engine")]);
        counter.Add(2, new KeyValuePair<string, object?>("role", "override"));
        counter.Add(1);

        var lines = exporter.Scrape().Split('\n');

        Assert.Contains("tagged_total{daemon=\"d-1\",role=\"override\"} 2", lines);
        Assert.Contains("tagged_total{daemon=\"d-1\",role=\"engine\"} 1", lines);
    }

    [Fact]
    public void HistogramsWithoutAdviceGetPrometheusDefaultBucketsAndAnyNumberType()
    {
        var sizes = _meter.CreateHistogram<int>("batch.size", "{item}", "Items per batch");
        var waits = _meter.CreateHistogram<float>("wait", "s");
        sizes.Record(3);
        sizes.Record(20);
        waits.Record(0.5f);

        var families = ExpositionText.Parse(_exporter.Scrape());

        var buckets = families["batch_size"].Samples.Where(s => s.Name == "batch_size_bucket").Select(s => s.Labels["le"]);
        Assert.Equal(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"], buckets);
        Assert.Equal(1, families.Value("batch_size", "batch_size_bucket", ("le", "5")));
        Assert.Equal(2, families.Value("batch_size", "batch_size_bucket", ("le", "+Inf")));
        Assert.Equal(23, families.Value("batch_size", "batch_size_sum"));
        Assert.Equal(1, families.Value("wait_seconds", "wait_seconds_bucket", ("le", "0.5")));
    }

    [Fact]
    public void LongAdviceIsHonoured()
    {
        var h = _meter.CreateHistogram("retries", "{retry}", "Retries per call", null, new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 1, 3] });
        h.Record(0);
        h.Record(2);

        var lines = Lines();

        Assert.Contains("retries_bucket{le=\"0\"} 1", lines);
        Assert.Contains("retries_bucket{le=\"1\"} 1", lines);
        Assert.Contains("retries_bucket{le=\"3\"} 2", lines);
        Assert.Contains("retries_bucket{le=\"+Inf\"} 2", lines);
    }

    [Fact]
    public void NumbersAreInvariantAndSpecialValuesSpelledOut()
    {
        Assert.Equal("0.1", PrometheusText.Number(0.1));
        Assert.Equal("1234567", PrometheusText.Number(1234567));
        Assert.Equal("1E-07", PrometheusText.Number(1e-7));
        Assert.Equal("+Inf", PrometheusText.Number(double.PositiveInfinity));
        Assert.Equal("-Inf", PrometheusText.Number(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusText.Number(double.NaN));
    }

    [Fact]
    public void AnInstrumentOfADisposedMeterIsNoLongerServed()
    {
        var meter = new Meter("Evacuationd.Tests.ShortLived");
        using var exporter = new PrometheusExporter(meter);
        meter.CreateCounter<long>("short.lived").Add(1);
        Assert.Contains("short_lived_total 1", exporter.Scrape().Split('\n'));

        meter.Dispose();

        Assert.Equal("", exporter.Scrape());
    }

    [Fact]
    public void ConcurrentRecordingLosesNothing()
    {
        var counter = _meter.CreateCounter<long>("parallel");
        var histogram = _meter.CreateHistogram<double>("parallel.seconds", "s");

        Parallel.For(0, 10_000, i =>
        {
            counter.Add(1, new KeyValuePair<string, object?>("shard", i % 4));
            histogram.Record(0.001);
        });

        var families = ExpositionText.Parse(_exporter.Scrape());
        Assert.Equal(10_000, families["parallel_total"].Samples.Sum(s => s.Value));
        Assert.Equal(10_000, families.Value("parallel_seconds", "parallel_seconds_count"));
        Assert.Equal(10_000, families.Value("parallel_seconds", "parallel_seconds_bucket", ("le", "0.005")));
    }
}
