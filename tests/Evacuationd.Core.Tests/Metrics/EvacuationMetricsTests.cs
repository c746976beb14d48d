using System.Diagnostics.Metrics;
using Evacuationd.Core.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Evacuationd.Core.Tests.Metrics;

/// <summary>What each recording method of <see cref="EvacuationMetrics"/> puts on which instrument.</summary>
public sealed class EvacuationMetricsTests : IDisposable
{
    private readonly TestMeterFactory _factory = new();
    private readonly EvacuationMetrics _metrics;

    public EvacuationMetricsTests() => _metrics = new EvacuationMetrics(_factory);

    public void Dispose() => _factory.Dispose();

    private MetricCollector<T> Collect<T>(string instrument) where T : struct => new(_metrics.Meter, instrument);

    [Fact]
    public void TheMeterIsEvacuationdFromTheFactory()
    {
        Assert.Equal("Evacuationd", _metrics.Meter.Name);
        Assert.Same(_factory, _metrics.Meter.Scope);
    }

    [Fact]
    public void ClaimsAreCountedByKindAndAdoption()
    {
        using var claims = Collect<long>("evacuationd.claims");

        _metrics.Claimed("host", adopted: false);
        _metrics.Claimed("instance", adopted: true);

        var seen = claims.GetMeasurementSnapshot();
        Assert.Equal(2, seen.Count);
        Assert.Equal(1, seen[0].Value);
        Assert.Equal(new Dictionary<string, object?> { ["kind"] = "host", ["adopted"] = "false" }, seen[0].Tags);
        Assert.Equal(new Dictionary<string, object?> { ["kind"] = "instance", ["adopted"] = "true" }, seen[1].Tags);
    }

    [Fact]
    public void AnEndedRecordIsCountedAndTimedByState()
    {
        using var ended = Collect<long>("evacuationd.records.ended");
        using var toDone = Collect<double>("evacuationd.fence_to_done");

        _metrics.RecordEnded("done", 42.5);
        _metrics.RecordEnded("failed", 7);

        Assert.Equal([("done", 1L), ("failed", 1L)], ended.GetMeasurementSnapshot().Select(m => ((string)m.Tags["state"]!, m.Value)));
        Assert.Equal([("done", 42.5), ("failed", 7.0)], toDone.GetMeasurementSnapshot().Select(m => ((string)m.Tags["state"]!, m.Value)));
    }

    [Fact]
    public void NovaCallsAreTimedByCallAndOnlyFailuresCountAsErrors()
    {
        using var duration = Collect<double>("evacuationd.nova.call.duration");
        using var errors = Collect<long>("evacuationd.nova.errors");

        _metrics.NovaCall("get_server", 0.012, ok: true);
        _metrics.NovaCall("evacuate", 0.25, ok: false);
        _metrics.NovaCall("evacuate", 1.5, ok: true);

        Assert.Equal([("get_server", 0.012), ("evacuate", 0.25), ("evacuate", 1.5)],
            duration.GetMeasurementSnapshot().Select(m => ((string)m.Tags["call"]!, m.Value)));
        var error = Assert.Single(errors.GetMeasurementSnapshot());
        Assert.Equal(1, error.Value);
        Assert.Equal(new Dictionary<string, object?> { ["call"] = "evacuate" }, error.Tags);
    }

    [Fact]
    public void UntaggedInstrumentsRecordPlainValues()
    {
        using var started = Collect<long>("evacuationd.evacuations.started");
        using var first = Collect<double>("evacuationd.fence_to_first_evacuate");
        using var renew = Collect<double>("evacuationd.lease.renew.duration");
        using var losses = Collect<long>("evacuationd.lease.losses");
        using var held = Collect<long>("evacuationd.hosts.held");

        _metrics.EvacuationStarted();
        _metrics.EvacuationStarted();
        _metrics.FirstEvacuate(3.25);
        _metrics.LeaseRenewed(0.004);
        _metrics.LeaseLost();
        _metrics.HostHeld();

        Assert.Equal([1L, 1L], started.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal(3.25, Assert.Single(first.GetMeasurementSnapshot()).Value);
        Assert.Equal(0.004, Assert.Single(renew.GetMeasurementSnapshot()).Value);
        Assert.Equal(1, Assert.Single(losses.GetMeasurementSnapshot()).Value);
        Assert.Equal(1, Assert.Single(held.GetMeasurementSnapshot()).Value);
        Assert.All([started.LastMeasurement!, losses.LastMeasurement!, held.LastMeasurement!], m => Assert.Empty(m.Tags));
        Assert.All([first.LastMeasurement!, renew.LastMeasurement!], m => Assert.Empty(m.Tags));
    }

    [Fact]
    public void EveryInstrumentHasAUnitAndDescriptionAndHistogramsAdviseTheirBuckets()
    {
        var instruments = new List<Instrument>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (i, _) =>
            {
                if (i.Meter == _metrics.Meter)
                {
                    instruments.Add(i);
                }
            };
            listener.Start();
        }

        Assert.Equal(
            [
                ("evacuationd.claims", "{claim}"), ("evacuationd.evacuations.started", "{evacuation}"), ("evacuationd.fence_to_done", "s"),
                ("evacuationd.fence_to_first_evacuate", "s"), ("evacuationd.hosts.held", "{host}"), ("evacuationd.lease.losses", "{loss}"),
                ("evacuationd.lease.renew.duration", "s"), ("evacuationd.nova.call.duration", "s"), ("evacuationd.nova.errors", "{error}"),
                ("evacuationd.records.ended", "{record}"),
            ],
            instruments.Select(i => (i.Name, i.Unit)).Order());
        Assert.All(instruments, i => Assert.False(string.IsNullOrWhiteSpace(i.Description)));
        var histograms = instruments.OfType<Histogram<double>>().ToDictionary(h => h.Name, h => h.Advice?.HistogramBucketBoundaries);
        Assert.Equal(4, histograms.Count);
        Assert.All(histograms.Values, b =>
        {
            Assert.NotNull(b);
            Assert.True(b.Count >= 10);
            Assert.Equal(b.Order(), b); // ascending, no repeats
            Assert.Equal(b.Count, b.Distinct().Count());
        });
        Assert.Equal(EvacuationMetrics.FenceToDoneBuckets, histograms["evacuationd.fence_to_done"]);
        Assert.Equal(3600, histograms["evacuationd.fence_to_done"]![^1]);
        Assert.Equal(EvacuationMetrics.NovaCallBuckets, histograms["evacuationd.nova.call.duration"]);
    }
}
