using System.Diagnostics;
using Evacuationd.Contracts.V1;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Server.Embedded;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using RecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Demo;

/// <summary>
/// <c>evacuationd demo</c>: the whole job on the embedded default. A host is powered off in
/// the simulated cloud and its fence reported over gRPC as the Pacemaker agent would; three
/// daemons evacuate its instances; the busiest daemon is killed mid-flight; the others take
/// its records over and finish. Exits 0 only if every evacuable instance ended on a healthy
/// host with exactly one evacuate call and nothing was evacuated twice.
/// </summary>
public sealed class DemoRunner(DemoScenario scenario, TextWriter output, ILoggerFactory loggers, Action<ILoggingBuilder> grpcLogging)
{
    /// <summary>What the last run found (for tests).</summary>
    public DemoResult? Result { get; private set; }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var fenced = scenario.FencedHost;
        output.WriteLine($"evacuationd demo: {scenario.Daemons} daemons, an in-memory store, a simulated cloud of {scenario.Hosts} hosts");
        await using var cloud = await EmbeddedCloud.StartAsync(scenario.CloudOptions(), loggers, grpcLogging, c =>
        {
            // Two more on the host to fence: one Nova cannot evacuate, one in ERROR that it can.
            c.AddInstance(fenced, $"vm-{fenced}-paused", "paused");
            c.AddInstance(fenced, $"vm-{fenced}-error", "error");
        }, ct).ConfigureAwait(false);
        output.WriteLine($"  evacsim (Keystone + Nova) at {cloud.Simulator.BaseUrl}; gRPC at {cloud.GrpcAddress}");
        output.WriteLine($"  daemons {string.Join(", ", cloud.Daemons.Select(d => d.Id))}; lease TTL {DemoProgress.Seconds(scenario.LeaseTtl)}; each drives at most {scenario.MaxConcurrentPerDaemon} records at once");
        output.WriteLine();

        var progress = new DemoProgress(cloud.Store, output, clock);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progressTask = progress.RunAsync(cloud.Store.Revision, watch.Token);

        cloud.Simulator.Cloud.PowerOff(fenced);
        progress.Line($"{fenced} powered off (the power device of the simulated Pacemaker fencing)");

        using var channel = GrpcChannel.ForAddress(cloud.GrpcAddress);
        var reply = await new Fencing.FencingClient(channel).ReportFencedAsync(new ReportFencedRequest
        {
            Host = fenced,
            Source = Evacuationd.Contracts.V1.FenceSource.FenceAgent,
            Reporter = "demo fence agent",
            EventId = $"demo-{Guid.NewGuid():N}",
            FencedAt = Timestamp.FromDateTimeOffset(TimeProvider.System.GetUtcNow()),
            Reason = "node lost (demo)",
        }, cancellationToken: ct).ConfigureAwait(false);
        progress.Line($"ReportFenced answered {reply.Outcome} for {reply.EvacuationId}: the host record was committed before the answer");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(scenario.Deadline);
        var killed = await KillBusiestAsync(cloud, progress, deadline.Token).ConfigureAwait(false);
        var finished = await WaitForFencingEndAsync(cloud.Store, fenced, deadline.Token).ConfigureAwait(false);
        await watch.CancelAsync().ConfigureAwait(false);
        await progressTask.ConfigureAwait(false);

        output.WriteLine();
        var result = await DemoSummary.BuildAsync(cloud, fenced, killed, progress.Orphans, finished, ct).ConfigureAwait(false);
        if (cloud.MetricsEndpoint is { } endpoint)
        {
            using var http = new HttpClient();
            result = result with { MetricsScrape = await http.GetStringAsync(endpoint.Address, ct).ConfigureAwait(false), MetricsAddress = endpoint.Address };
        }
        Result = result;
        result.Print(output, clock.Elapsed);
        return result.Passed ? 0 : 1;
    }

    /// <summary>Once enough records are in flight, kill the daemon owning most of them, as kill -9 would.</summary>
    private async Task<string?> KillBusiestAsync(EmbeddedCloud cloud, DemoProgress progress, CancellationToken ct)
    {
        var snapshot = await WaitAsync(cloud.Store, s => InFlightByOwner(s).Values.Sum() >= scenario.KillWhenInFlight, ct).ConfigureAwait(false);
        if (snapshot is null)
        {
            return null;
        }
        var (victim, count) = InFlightByOwner(snapshot).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).First();
        var owned = snapshot.Owners.Where(kv => kv.Value == victim && kv.Key.Kind == RecordKind.Instance).Select(kv => kv.Key.Id).ToHashSet(StringComparer.Ordinal);
        progress.KilledDaemon = victim;
        progress.Orphans = owned;
        cloud.Daemons.Single(d => d.Id == victim).Kill();
        progress.Line($"KILL {victim}: it owns {owned.Count} record(s), {count} in flight in Nova; no release, no revoke. Its lease expires within {DemoProgress.Seconds(scenario.LeaseTtl)}");
        return victim;
    }

    private static Dictionary<string, int> InFlightByOwner(StoreSnapshot s)
    {
        var inFlight = s.Instances.Where(v => v.Value.State.IsInFlight()).Select(v => RecordKey.Instance(v.Value.Id)).ToHashSet();
        return s.Owners.Where(kv => inFlight.Contains(kv.Key)).GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }

    private static async Task<bool> WaitForFencingEndAsync(IEvacuationStore store, string host, CancellationToken ct) =>
        await WaitAsync(store, s => s.Hosts.Any(h => h.Value.Name == host && h.Value.IsTerminal), ct).ConfigureAwait(false) is not null;

    /// <summary>The first snapshot for which <paramref name="done"/> holds, driven by the store's watch; null at the deadline.</summary>
    private static async Task<StoreSnapshot?> WaitAsync(IEvacuationStore store, Func<StoreSnapshot, bool> done, CancellationToken ct)
    {
        try
        {
            var snapshot = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
            if (done(snapshot))
            {
                return snapshot;
            }
            await foreach (var _ in store.WatchAsync(snapshot.Revision, ct).ConfigureAwait(false))
            {
                snapshot = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
                if (done(snapshot))
                {
                    return snapshot;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        return null;
    }
}
