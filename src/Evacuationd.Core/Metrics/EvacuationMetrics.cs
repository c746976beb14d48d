using System.Diagnostics.Metrics;

namespace Evacuationd.Core.Metrics;

/// <summary>
/// Every instrument of evacuationd, on one meter ("Evacuationd") built from the injected
/// <see cref="IMeterFactory"/>. The core records; only the host wires an exporter
/// (Prometheus text on Metrics:Listen). Names follow Prometheus conventions once exported
/// (dots become underscores, units as suffixes).
/// </summary>
public sealed class EvacuationMetrics
{
    public const string MeterName = "Evacuationd";

    private readonly Counter<long> _claims;
    private readonly Counter<long> _evacuationsStarted;
    private readonly Counter<long> _recordsEnded;
    private readonly Histogram<double> _fenceToFirstEvacuate;
    private readonly Histogram<double> _fenceToDone;
    private readonly Histogram<double> _novaCall;
    private readonly Counter<long> _novaErrors;
    private readonly Histogram<double> _leaseRenew;
    private readonly Counter<long> _leaseLosses;
    private readonly Counter<long> _hostsHeld;

    public EvacuationMetrics(IMeterFactory factory)
    {
        Meter = factory.Create(MeterName);
        _claims = Meter.CreateCounter<long>("evacuationd.claims", "{claim}", "Records claimed by this daemon; adopted=true when taken over from a dead owner");
        _evacuationsStarted = Meter.CreateCounter<long>("evacuationd.evacuations.started", "{evacuation}", "Evacuate calls made (one per attempt)");
        _recordsEnded = Meter.CreateCounter<long>("evacuationd.records.ended", "{record}", "Instance records that reached a terminal state, by state");
        _fenceToFirstEvacuate = Meter.CreateHistogram("evacuationd.fence_to_first_evacuate", "s", "From the fence report to the first evacuate call of each instance record", null, Buckets(FenceToFirstEvacuateBuckets));
        _fenceToDone = Meter.CreateHistogram("evacuationd.fence_to_done", "s", "From the fence report to a record's terminal state", null, Buckets(FenceToDoneBuckets));
        _novaCall = Meter.CreateHistogram("evacuationd.nova.call.duration", "s", "Nova call latency, by call", null, Buckets(NovaCallBuckets));
        _novaErrors = Meter.CreateCounter<long>("evacuationd.nova.errors", "{error}", "Nova calls that failed, by call");
        _leaseRenew = Meter.CreateHistogram("evacuationd.lease.renew.duration", "s", "Lease keepalive round trip", null, Buckets(LeaseRenewBuckets));
        _leaseLosses = Meter.CreateCounter<long>("evacuationd.lease.losses", "{loss}", "Leases lost (expired or abandoned, not revoked)");
        _hostsHeld = Meter.CreateCounter<long>("evacuationd.hosts.held", "{host}", "Fencings held by the blast-radius guard or a global hold");
    }

    // Bucket boundaries (seconds), given to exporters as instrument advice: Prometheus'
    // default 5 ms..10 s fits none of the fence timings, which run to minutes.

    /// <summary>Fence report to the first evacuate call: seconds to a few minutes.</summary>
    public static readonly IReadOnlyList<double> FenceToFirstEvacuateBuckets = [0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

    /// <summary>Fence report to a terminal record: a rebuild takes tens of seconds to many minutes.</summary>
    public static readonly IReadOnlyList<double> FenceToDoneBuckets = [5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600];

    /// <summary>One Nova call, retries and pages included.</summary>
    public static readonly IReadOnlyList<double> NovaCallBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    /// <summary>One lease keepalive round trip.</summary>
    public static readonly IReadOnlyList<double> LeaseRenewBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The meter, for observable instruments registered by their owners (e.g. records by state).</summary>
    public Meter Meter { get; }

    public void Claimed(string kind, bool adopted) =>
        _claims.Add(1, new("kind", kind), new("adopted", adopted ? "true" : "false"));

    public void EvacuationStarted() => _evacuationsStarted.Add(1);

    public void RecordEnded(string state, double secondsSinceFence)
    {
        _recordsEnded.Add(1, new KeyValuePair<string, object?>("state", state));
        _fenceToDone.Record(secondsSinceFence, new KeyValuePair<string, object?>("state", state));
    }

    public void FirstEvacuate(double secondsSinceFence) => _fenceToFirstEvacuate.Record(secondsSinceFence);

    public void NovaCall(string call, double seconds, bool ok)
    {
        _novaCall.Record(seconds, new KeyValuePair<string, object?>("call", call));
        if (!ok)
        {
            _novaErrors.Add(1, new KeyValuePair<string, object?>("call", call));
        }
    }

    public void LeaseRenewed(double seconds) => _leaseRenew.Record(seconds);

    public void LeaseLost() => _leaseLosses.Add(1);

    public void HostHeld() => _hostsHeld.Add(1);

    private static InstrumentAdvice<double> Buckets(IReadOnlyList<double> boundaries) => new() { HistogramBucketBoundaries = boundaries };
}
