using System.Diagnostics;
using System.Text.RegularExpressions;
using Etcdserverpb;
using Evacuationd.Core.Api;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Core.Workflow;
using Evacuationd.Etcd;
using Evacuationd.Nova;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Evacuationd.Testing.Etcd;
using Grpc.Core;

namespace Evacuationd.Bench;

/// <summary>Milliseconds after the first report, or a duration in milliseconds.</summary>
internal sealed record Spread(double Median, double P95, double Max)
{
    public static Spread Of(IReadOnlyList<double> v) => new(Stats.Median(v), Stats.Percentile(v, 95), v.Count == 0 ? double.NaN : v.Max());
}

internal sealed record ScenarioResult(
    int Instances,
    TimeSpan Wall,
    long Writes,
    int Done,
    int HostsDone,
    int Duplicates,
    Counters Etcd,
    IReadOnlyDictionary<string, int> NovaCalls,
    Spread HostPlanned,
    Spread InstanceDone,
    Spread SlotWait,
    Spread ClaimAndCall,
    Spread Follow)
{
    public double RecordsPerSecond => Instances / Wall.TotalSeconds;

    public double WritesPerInstance => (double)Writes / Instances;
}

/// <summary>
/// One mass fencing: N hosts powered off in a zero-latency evacsim and reported at once, M
/// daemons (each its own etcd connection and Nova client) drive every record to its end.
/// Timed from the first report to the last host record terminal, seen on a store watch.
/// </summary>
internal static partial class ScenarioBench
{
    public static async Task<ScenarioResult> RunAsync(EtcdCluster cluster, HttpClient http, BenchOptions o, int fencedHosts, int perHost, CancellationToken ct)
    {
        var time = TimeProvider.System;
        // ServiceDownTime 0: a powered-off host reads down at once, so evacsim's scheduler cannot place
        // a rebuild on a fenced host in the moments before its force-down (that rebuild would stall).
        var sim = SimulatedCloud.CreatePopulated(new SimulatorOptions
        {
            Hosts = fencedHosts + o.SpareHosts,
            InstancesPerHost = perHost,
            Rebuild = TimeSpan.Zero,
            ServiceDownTime = TimeSpan.Zero,
        }, time);
        var fenced = sim.HostNames().Take(fencedHosts).ToList();
        var instances = fencedHosts * perHost;

        await using var simulator = await SimulatorHost.StartAsync(sim, "http://127.0.0.1:0", ct);
        var etcdOptions = new EtcdOptions { Endpoints = cluster.ClientUrls, Prefix = $"/evacuationd-bench/{Guid.NewGuid():N}" };
        var engine = new EngineOptions
        {
            MaxConcurrentRecords = o.MaxConcurrentRecords,
            ClaimRampUp = TimeSpan.Zero,
            ClaimGrace = o.ClaimGrace,
            Workflow = new WorkflowOptions { PollInterval = o.PollInterval },
            Policy = o.MaxInFlight is { } max ? new PolicyOptions { MaxInFlightEvacuations = max } : new PolicyOptions(),
        };
        var novaOptions = new NovaClientOptions { AuthUrl = simulator.IdentityUrl.ToString(), Username = "admin", Password = "x", ProjectName = "admin" };

        // the reporter and the observer warm their connections before the clock starts
        await using var daemons = await BenchDaemons.StartAsync(o.Daemons, "bench", engine, etcdOptions, novaOptions, time, ct);
        var observer = daemons.Observer;

        foreach (var h in fenced)
        {
            sim.PowerOff(h);
        }
        var kv = cluster.Client.GetConnection().KVClient;
        var before = await RevisionAsync(kv, ct);
        var countersBefore = await Counters.ReadAsync(cluster, http, ct);

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(o.ScenarioTimeout);
        var allEnded = WaitForHostsAsync(observer, before, fenced, bound.Token);

        var startedAt = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        // the blast-radius guard would hold every host past the third: opened, as in the process modes
        var intake = new FenceIntake(observer, time, "bench", ServedSet.WidePolicy);
        try
        {
            var decisions = await Task.WhenAll(fenced.Select(h =>
                intake.ReportAsync(new FenceReport(h, FenceSource.FenceAgent, "bench fencer"), bound.Token)));
            if (decisions.FirstOrDefault(d => d.Outcome != FenceOutcome.Created) is { } odd)
            {
                throw new InvalidOperationException($"a report was not taken as new: {odd.Outcome}: {odd.Message}");
            }
            await allEnded;
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException && bound.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            var snapshot = await observer.ReadSnapshotAsync(ct);
            throw new TimeoutException($"not every host record ended within {o.ScenarioTimeout}: " +
                string.Join(", ", snapshot.Instances.GroupBy(v => v.Value.State).Select(g => $"{g.Key.Name()}={g.Count()}")));
        }
        finally
        {
            if (!allEnded.IsCompleted)
            {
                // a failed report or a timeout: stop the watch before its store is disposed
                await bound.CancelAsync();
                await allEnded.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        var wall = Stopwatch.GetElapsedTime(started);
        var after = await RevisionAsync(kv, ct);
        var countersAfter = await Counters.ReadAsync(cluster, http, ct);

        var final = await observer.ReadSnapshotAsync(ct);
        var records = final.Instances.Select(v => v.Value).ToList();
        var hostRecords = final.Hosts.Select(v => v.Value).ToList();
        var stats = sim.GetStats();
        return new ScenarioResult(
            instances,
            wall,
            after - before,
            records.Count(r => r.State == RecordState.Done),
            hostRecords.Count(h => h.State == HostState.Done),
            stats.DuplicateEvacuations,
            countersAfter - countersBefore,
            NovaCalls(sim.GetRequestLog().Where(r => r.At >= startedAt)),
            Spread.Of(hostRecords.Select(h => Since(startedAt, Entered(h.History, HostState.Evacuating.Name()))).OfType<double>().ToList()),
            Spread.Of(records.Select(r => Since(startedAt, Entered(r.History, RecordState.Done.Name()))).OfType<double>().ToList()),
            Spread.Of(records.Select(r => Between(r.CreatedAt, Entered(r.History, RecordState.Evacuating.Name()))).OfType<double>().ToList()),
            Spread.Of(records.Select(r => Between(Entered(r.History, RecordState.Evacuating.Name()), Entered(r.History, RecordState.Rebuilding.Name()))).OfType<double>().ToList()),
            Spread.Of(records.Select(r => Between(Entered(r.History, RecordState.Rebuilding.Name()), Entered(r.History, RecordState.Done.Name()))).OfType<double>().ToList()));
    }

    /// <summary>etcd's current revision (header of a linearizable read).</summary>
    private static async Task<long> RevisionAsync(KV.KVClient kv, CancellationToken ct)
    {
        var r = await kv.RangeAsync(new RangeRequest { Key = EtcdTestClient.Bytes("/evacuationd-bench/revision"), CountOnly = true },
            deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(10)), cancellationToken: ct);
        return r.Header.Revision;
    }

    /// <summary>Follows the store's watch (no polling, no snapshot re-reads) until every host in <paramref name="hosts"/> is terminal.</summary>
    internal static async Task WaitForHostsAsync(EtcdEvacuationStore observer, long after, IReadOnlyList<string> hosts, CancellationToken ct)
    {
        var states = new Dictionary<string, HostState>(StringComparer.Ordinal);
        var wanted = hosts.ToHashSet(StringComparer.Ordinal);
        var ended = 0;
        await foreach (var change in observer.WatchAsync(after, ct))
        {
            if (change.Kind != ChangeKind.HostPut || change.Host is not { } v || !wanted.Contains(v.Value.Name))
            {
                continue;
            }
            var was = states.TryGetValue(v.Value.Name, out var s) && s.IsTerminal();
            states[v.Value.Name] = v.Value.State;
            if (!was && v.Value.IsTerminal && ++ended == wanted.Count)
            {
                return;
            }
        }
        ct.ThrowIfCancellationRequested();
    }

    private static DateTimeOffset? Entered(IEnumerable<Transition> history, string state) =>
        history.FirstOrDefault(t => t.To == state && t.From != state)?.At;

    private static double? Since(DateTimeOffset start, DateTimeOffset? at) => at is { } t ? (t - start).TotalMilliseconds : null;

    private static double? Between(DateTimeOffset? from, DateTimeOffset? to) => from is { } f && to is { } t ? (t - f).TotalMilliseconds : null;

    /// <summary>Nova/Keystone requests by kind (ids folded).</summary>
    private static Dictionary<string, int> NovaCalls(IEnumerable<RequestRecord> requests) =>
        requests.GroupBy(r => r.Method + " " + Fold(r.Path)).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private static string Fold(string path)
    {
        var p = path.Split('?')[0];
        p = Uuid().Replace(p, "{id}");
        return path.Contains("os-migrations", StringComparison.Ordinal) ? p + "?instance_uuid=…"
            : path.Contains("servers/detail", StringComparison.Ordinal) ? p + "?host=…"
            : path.Contains("os-services?", StringComparison.Ordinal) ? p + "?host=…"
            : p;
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")]
    private static partial Regex Uuid();
}
