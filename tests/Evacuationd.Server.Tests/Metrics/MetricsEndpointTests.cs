using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Evacuationd.Core.Metrics;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Evacuationd.Server.Tests.Metrics;

/// <summary>
/// The scrape endpoint on its own loopback listener: what evacuationd records through
/// <see cref="EvacuationMetrics"/> (from a real meter factory) comes out as Prometheus text.
/// </summary>
public sealed class MetricsEndpointTests : IAsyncDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly HttpClient _http = new();
    private readonly EvacuationMetrics _metrics;
    private MetricsEndpoint? _endpoint;

    public MetricsEndpointTests() => _metrics = new EvacuationMetrics(_services.GetRequiredService<IMeterFactory>());

    public async ValueTask DisposeAsync()
    {
        if (_endpoint is not null)
        {
            await _endpoint.DisposeAsync();
        }
        _http.Dispose();
        await _services.DisposeAsync();
    }

    private async Task<MetricsEndpoint> StartAsync(string listen = "http://127.0.0.1:0") =>
        _endpoint = await MetricsEndpoint.StartAsync(listen, _metrics);

    private async Task<string> ScrapeAsync(Uri? address = null)
    {
        using var response = await _http.GetAsync(address ?? _endpoint!.Address);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task ServesOnTheLoopbackPortItWasGivenAtMetrics()
    {
        var endpoint = await StartAsync();

        Assert.Equal("127.0.0.1", endpoint.Address.Host);
        Assert.NotEqual(0, endpoint.Address.Port);
        Assert.Equal("/metrics", endpoint.Address.AbsolutePath);
        using var elsewhere = await _http.GetAsync(new Uri(endpoint.Address, "/"));
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task EveryInstrumentIsDeclaredBeforeAnythingIsRecorded()
    {
        await StartAsync();

        var text = await ScrapeAsync();

        var families = ExpositionText.Parse(text);
        Assert.Equal(
            [
                "evacuationd_claims_total", "evacuationd_evacuations_started_total", "evacuationd_fence_to_done_seconds",
                "evacuationd_fence_to_first_evacuate_seconds", "evacuationd_hosts_held_total", "evacuationd_lease_losses_total",
                "evacuationd_lease_renew_duration_seconds", "evacuationd_nova_call_duration_seconds", "evacuationd_nova_errors_total",
                "evacuationd_records_ended_total",
            ],
            families.Keys.Order(StringComparer.Ordinal));
        Assert.All(families.Values, f => Assert.Empty(f.Samples));
        Assert.Contains("# HELP evacuationd_nova_call_duration_seconds Nova call latency, by call\n# TYPE evacuationd_nova_call_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP evacuationd_claims_total Records claimed by this daemon; adopted=true when taken over from a dead owner\n# TYPE evacuationd_claims_total counter\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountersCarryTheirTagsAsLabels()
    {
        await StartAsync();
        _metrics.Claimed("host", adopted: false);
        _metrics.Claimed("host", adopted: false);
        _metrics.Claimed("instance", adopted: true);
        _metrics.EvacuationStarted();
        _metrics.EvacuationStarted();
        _metrics.EvacuationStarted();
        _metrics.LeaseLost();

        var text = await ScrapeAsync();

        var lines = text.Split('\n');
        Assert.Equal(
            [
                "# HELP evacuationd_claims_total Records claimed by this daemon; adopted=true when taken over from a dead owner",
                "# TYPE evacuationd_claims_total counter",
                "evacuationd_claims_total{adopted=\"false\",kind=\"host\"} 2",
                "evacuationd_claims_total{adopted=\"true\",kind=\"instance\"} 1",
                "# HELP evacuationd_evacuations_started_total Evacuate calls made (one per attempt)",
                "# TYPE evacuationd_evacuations_started_total counter",
                "evacuationd_evacuations_started_total 3",
            ],
            lines.Take(7));
        Assert.Contains("evacuationd_lease_losses_total 1", lines);
        var families = ExpositionText.Parse(text);
        Assert.Equal(2, families.Value("evacuationd_claims_total", "evacuationd_claims_total", ("adopted", "false"), ("kind", "host")));
        Assert.Equal(3, families.Value("evacuationd_evacuations_started_total", "evacuationd_evacuations_started_total"));
    }

    [Fact]
    public async Task HistogramsHaveCumulativeBucketsSumAndCountPerLabelSet()
    {
        await StartAsync();
        _metrics.NovaCall("evacuate", 0.25, ok: false); // on a boundary: counts in le="0.25"
        _metrics.NovaCall("evacuate", 2, ok: true);
        _metrics.NovaCall("evacuate", 500, ok: true); // above every boundary: only +Inf
        _metrics.NovaCall("get_server", 0.003, ok: true);

        var text = await ScrapeAsync();

        var lines = text.Split('\n');
        var start = Array.IndexOf(lines, "# TYPE evacuationd_nova_call_duration_seconds histogram");
        Assert.Equal(
            [
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.005\"} 0",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.01\"} 0",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.025\"} 0",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.05\"} 0",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.1\"} 0",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.25\"} 1",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"0.5\"} 1",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"1\"} 1",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"2.5\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"5\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"10\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"30\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"60\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"120\"} 2",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"evacuate\",le=\"+Inf\"} 3",
                "evacuationd_nova_call_duration_seconds_sum{call=\"evacuate\"} 502.25",
                "evacuationd_nova_call_duration_seconds_count{call=\"evacuate\"} 3",
                "evacuationd_nova_call_duration_seconds_bucket{call=\"get_server\",le=\"0.005\"} 1",
            ],
            lines.Skip(start + 1).Take(18));
        Assert.Contains("evacuationd_nova_errors_total{call=\"evacuate\"} 1", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("evacuationd_nova_errors_total{call=\"get_server\"}", StringComparison.Ordinal));
        var families = ExpositionText.Parse(text);
        var h = "evacuationd_nova_call_duration_seconds";
        Assert.Equal(1, families.Value(h, h + "_count", ("call", "get_server")));
        Assert.Equal(0.003, families.Value(h, h + "_sum", ("call", "get_server")));
        Assert.Equal(1, families.Value(h, h + "_bucket", ("call", "get_server"), ("le", "+Inf")));
    }

    [Fact]
    public async Task EachHistogramUsesTheBucketsItsInstrumentAdvises()
    {
        await StartAsync();
        _metrics.RecordEnded("done", 75);
        _metrics.FirstEvacuate(4);
        _metrics.LeaseRenewed(0.002);

        var families = ExpositionText.Parse(await ScrapeAsync());

        static IEnumerable<double> Bounds(Family f) => f.Samples.Where(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal)).Select(s => s.Labels["le"])
            .Where(le => le != "+Inf").Select(le => double.Parse(le, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(EvacuationMetrics.FenceToDoneBuckets, Bounds(families["evacuationd_fence_to_done_seconds"]));
        Assert.Equal(EvacuationMetrics.FenceToFirstEvacuateBuckets, Bounds(families["evacuationd_fence_to_first_evacuate_seconds"]));
        Assert.Equal(EvacuationMetrics.LeaseRenewBuckets, Bounds(families["evacuationd_lease_renew_duration_seconds"]));
        Assert.Equal(1, families.Value("evacuationd_fence_to_done_seconds", "evacuationd_fence_to_done_seconds_bucket", ("le", "90"), ("state", "done")));
        Assert.Equal(0, families.Value("evacuationd_fence_to_done_seconds", "evacuationd_fence_to_done_seconds_bucket", ("le", "60"), ("state", "done")));
        Assert.Equal(1, families.Value("evacuationd_records_ended_total", "evacuationd_records_ended_total", ("state", "done")));
    }

    [Fact]
    public async Task ScrapesSeeTotalsNotDeltas()
    {
        await StartAsync();
        _metrics.HostHeld();
        var first = ExpositionText.Parse(await ScrapeAsync());
        _metrics.HostHeld();

        var second = ExpositionText.Parse(await ScrapeAsync());

        Assert.Equal(1, first.Value("evacuationd_hosts_held_total", "evacuationd_hosts_held_total"));
        Assert.Equal(2, second.Value("evacuationd_hosts_held_total", "evacuationd_hosts_held_total"));
    }

    [Fact]
    public async Task ObservableGaugesRegisteredOnTheMeterAreReadAtEachScrape()
    {
        await StartAsync();
        var byState = new Dictionary<string, int> { ["planned"] = 4, ["evacuating"] = 2 };
        _metrics.Meter.CreateObservableGauge("evacuationd.records", () => byState.Select(kv => new Measurement<int>(kv.Value, new KeyValuePair<string, object?>("state", kv.Key))),
            "{record}", "Instance records by state");

        var before = ExpositionText.Parse(await ScrapeAsync());
        byState.Remove("planned");
        byState["evacuating"] = 5;
        var after = ExpositionText.Parse(await ScrapeAsync());

        var gauge = before["evacuationd_records"];
        Assert.Equal("gauge", gauge.Type);
        Assert.Equal("Instance records by state", gauge.Help);
        Assert.Equal(4, before.Value("evacuationd_records", "evacuationd_records", ("state", "planned")));
        Assert.Equal(2, before.Value("evacuationd_records", "evacuationd_records", ("state", "evacuating")));
        Assert.Equal(5, Assert.Single(after["evacuationd_records"].Samples).Value); // a state gone is gone
    }

    [Fact]
    public async Task ItServesOnlyTheMetersItWasGiven()
    {
        using var other = new Meter("Evacuationd"); // same name, another meter
        other.CreateCounter<long>("evacuationd.claims", "{claim}").Add(100);
        await StartAsync();
        other.CreateCounter<long>("stranger.count").Add(1);

        var text = await ScrapeAsync();

        Assert.DoesNotContain("stranger", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" 100\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheListenUrlMayNameAnotherPath()
    {
        var endpoint = await StartAsync("http://127.0.0.1:0/custom/path");
        _metrics.HostHeld();

        var text = await ScrapeAsync();

        Assert.Equal("/custom/path", endpoint.Address.AbsolutePath);
        Assert.Contains("evacuationd_hosts_held_total 1\n", text, StringComparison.Ordinal);
        using var standard = await _http.GetAsync(new Uri(endpoint.Address, "/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, standard.StatusCode);
    }

    [Fact]
    public async Task DisposingStopsTheListener()
    {
        var endpoint = await StartAsync();
        var address = endpoint.Address;

        await endpoint.DisposeAsync();
        await endpoint.DisposeAsync(); // twice is harmless
        _endpoint = null;

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync(address));
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task ABadListenUrlIsAConfigurationErrorNamingTheKey()
    {
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => MetricsEndpoint.StartAsync("metrics.example:9464", _metrics));

        Assert.StartsWith("Metrics:Listen", Assert.Single(ex.Errors), StringComparison.Ordinal);
    }
}
