using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Etcd;
using Evacuationd.Simulator;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

/// <summary>What the retention sweep left after a run: waited from the run's end until no instance record was left (or the bound).</summary>
/// <param name="Writes">etcd revisions added during the wait: each deleted record is one; more are other writes (host records rewritten).</param>
/// <param name="HostsRewritten">Host records of the run written during the wait (all had ended before it).</param>
/// <param name="HostReason">The last reason of one of them, as an operator reads it.</param>
internal sealed record RetentionResult(TimeSpan Retention, TimeSpan Sweep, TimeSpan Waited, bool Emptied, IReadOnlyDictionary<string, long> KeysAfter, IReadOnlyList<ProcessMemory> MemoryAfter,
    long Writes, long Deleted, int HostsRewritten, string? HostReason);

/// <summary>One mass fencing by daemons running as processes.</summary>
/// <param name="Reported">Until every fence report was acknowledged.</param>
/// <param name="Wall">From the first report to the last host record terminal (a store watch).</param>
/// <param name="Writes">etcd revisions added: one per committed write transaction.</param>
/// <param name="Deletes">Instance records deleted by the retention sweep during the run (one write each; not evacuation work).</param>
/// <param name="DaemonCpu">User + system CPU of all daemon processes during the run.</param>
/// <param name="Memory">Per daemon after the run: VmHWM (peak, since its start, warm-up included) and VmRSS.</param>
/// <param name="Active">Instances of the fenced hosts that evacsim shows ACTIVE on a host that was not fenced.</param>
internal sealed record ServedRun(
    int Instances,
    int Hosts,
    TimeSpan Reported,
    TimeSpan Wall,
    long Writes,
    int Deletes,
    TimeSpan DaemonCpu,
    Counters Etcd,
    IReadOnlyList<ProcessMemory> Memory,
    int Done,
    int HostsDone,
    int Active,
    int Duplicates,
    IReadOnlyDictionary<string, long> KeysAtEnd,
    RetentionResult? Retention,
    double LoadBefore,
    double LoadAfter)
{
    public double MsPerInstance => Wall.TotalMilliseconds / Instances;

    /// <summary>Writes of the evacuation itself: the retention sweep's deletes are left out.</summary>
    public double WritesPerInstance => (double)(Writes - Deletes) / Instances;

    public double CpuMsPerInstance => DaemonCpu.TotalMilliseconds / Instances;

    public double RecordsPerSecond => Instances / Wall.TotalSeconds;

    public bool Complete => Done == Instances && HostsDone == Hosts && Active == Instances && Duplicates == 0;
}

/// <summary>
/// Scale and cost growth with daemons as `evacuationd serve` processes on the 3-member etcd:
/// N instances on N / per-host fenced hosts of a zero-latency evacsim (in this process),
/// reported at once (a few reports at a time), after one unmeasured warm-up fencing on fresh
/// daemons. Each run has its own daemons, key prefix and evacsim, so that a daemon's memory is
/// that of one run. With retention, waits afterwards until the sweep removed every instance
/// record and counts the keys left.
/// </summary>
internal static class ScaleBench
{
    private const int WarmUpHosts = 2;

    public static async Task<ServedRun> RunAsync(EtcdCluster cluster, HttpClient http, BenchOptions o, int instances, bool retention, CancellationToken ct)
    {
        var perHost = Math.Min(o.ScalePerHost, instances);
        var hosts = instances / perHost;
        instances = hosts * perHost;
        var sim = new SimulatorOptions
        {
            Hosts = WarmUpHosts + hosts + o.SpareHosts,
            InstancesPerHost = perHost,
            Rebuild = TimeSpan.Zero,
            ServiceDownTime = TimeSpan.Zero,
        };
        var engine = new JsonObject
        {
            ["MaxConcurrentRecords"] = o.MaxConcurrentRecords,
            ["ClaimRampUp"] = "00:00:00",
            ["ClaimGrace"] = ServedSet.Span(o.ClaimGrace),
            ["Retention"] = ServedSet.Span(o.Retention),
            ["RetentionSweepInterval"] = ServedSet.Span(o.RetentionSweep),
            ["Workflow"] = new JsonObject { ["PollInterval"] = ServedSet.Span(o.PollInterval) },
            ["Policy"] = ServedSet.WidePolicyJson(),
        };
        await using var set = await ServedSet.StartAsync(cluster, sim, engine, o.Daemons, "s", o.DaemonEnvironment, ct);
        if (o.KeepLogs)
        {
            set.Keep();
        }
        var names = set.Sim.HostNames();
        var warm = names.Take(WarmUpHosts).ToList();
        var fenced = names.Skip(WarmUpHosts).Take(hosts).ToList();
        var fencedSet = fenced.ToHashSet(StringComparer.Ordinal);
        set.PowerOff(fenced); // the warm-up's rebuilds land on spare hosts only

        // warm-up (not counted): the daemons' code is jitted, their connections open
        var warmRevision = await ServedSet.RevisionAsync(set.Kv, ct);
        using (var warmBound = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            warmBound.CancelAfter(TimeSpan.FromSeconds(120));
            var warmEnded = ScenarioBench.WaitForHostsAsync(set.Observer, warmRevision, warm, warmBound.Token);
            await set.ReportAsync(warm, o.ReportParallelism, ct);
            await warmEnded;
        }

        var theirs = set.Sim.ListInstances().Where(i => i.Host is { } h && fencedSet.Contains(h)).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var loadBefore = Stats.Load1();
        var cpuBefore = Cpu(set);
        var before = await ServedSet.RevisionAsync(set.Kv, ct);
        var countersBefore = await Counters.ReadAsync(cluster, http, ct);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // at least --timeout-s, and 100 ms per instance more (10,000 instances on a busy machine take minutes)
        var limit = TimeSpan.FromMilliseconds(Math.Max(o.ScenarioTimeout.TotalMilliseconds, 120_000 + 100.0 * instances));
        bound.CancelAfter(limit);
        var seen = new RunWatch(fencedSet);
        var ended = seen.FollowAsync(set.Observer, before, bound.Token);
        var started = Stopwatch.GetTimestamp();
        TimeSpan reported;
        try
        {
            await set.ReportAsync(fenced, o.ReportParallelism, bound.Token);
            reported = Stopwatch.GetElapsedTime(started);
            await ended;
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            set.Keep();
            var snapshot = await set.Observer.ReadSnapshotAsync(ct);
            throw new TimeoutException($"{instances} instances: not every host record ended within {limit}: " +
                string.Join(", ", snapshot.Instances.GroupBy(v => v.Value.State).Select(g => $"{g.Key.Name()}={g.Count()}")));
        }
        var wall = Stopwatch.GetElapsedTime(started);
        var after = await ServedSet.RevisionAsync(set.Kv, ct);
        var countersAfter = await Counters.ReadAsync(cluster, http, ct);
        var cpu = Cpu(set) - cpuBefore;
        var loadAfter = Stats.Load1();
        var memory = set.Daemons.Select(d => d.Memory()).ToList();
        var keys = await set.KeyCountsAsync(ct);

        // from the watch: with a short retention, records that ended early are deleted before the run ends
        var done = seen.Done;
        var hostsDone = seen.HostsDone;
        var active = set.Sim.ListInstances().Count(i => theirs.Contains(i.Id) && i.Status == "ACTIVE" && i.Host is { } h && !fencedSet.Contains(h) && !warm.Contains(h));
        var duplicates = set.Sim.GetStats().DuplicateEvacuations;
        Progress(string.Create(CultureInfo.InvariantCulture,
            $"served {instances} instances on {hosts} hosts: {wall.TotalSeconds:F1} s ({instances / wall.TotalSeconds:F0} records/s; reports acknowledged after {reported.TotalSeconds:F1} s), " +
            $"{(double)(after - before) / instances:F2} writes/instance ({seen.Deletes} retention deletes), daemon CPU {cpu.TotalSeconds:F1} s, peak RSS {string.Join(" / ", memory.Select(m => m.PeakMb.ToString("F0", CultureInfo.InvariantCulture)))} MB, " +
            $"done {done}, active in evacsim {active}, duplicates {duplicates}, keys {keys["all"]}; load {loadBefore:F1} -> {loadAfter:F1}"));

        RetentionResult? kept = null;
        if (retention)
        {
            var waitRevision = await ServedSet.RevisionAsync(set.Kv, ct);
            var hostsAtEnd = (await set.Observer.ListHostsAsync(ct)).Where(h => fencedSet.Contains(h.Value.Name)).ToDictionary(h => h.Value.Name, h => h.Revision, StringComparer.Ordinal);
            var waitStarted = Stopwatch.GetTimestamp();
            var patience = o.Retention + 4 * o.RetentionSweep + TimeSpan.FromSeconds(120);
            var emptied = false;
            while (Stopwatch.GetElapsedTime(waitStarted) < patience)
            {
                if ((await set.KeyCountsAsync(ct))["instances"] == 0)
                {
                    emptied = true;
                    break;
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            var waited = Stopwatch.GetElapsedTime(waitStarted);
            var keysAfter = await set.KeyCountsAsync(ct);
            var waitWrites = await ServedSet.RevisionAsync(set.Kv, ct) - waitRevision;
            var rewritten = (await set.Observer.ListHostsAsync(ct)).Where(h => hostsAtEnd.TryGetValue(h.Value.Name, out var r) && h.Revision != r).ToList();
            kept = new RetentionResult(o.Retention, o.RetentionSweep, waited, emptied, keysAfter, set.Daemons.Select(d => d.Memory()).ToList(),
                waitWrites, keys["instances"] - keysAfter["instances"], rewritten.Count, rewritten.FirstOrDefault()?.Value.Reason);
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"retention ({o.Retention.TotalSeconds:F0} s, sweep every {o.RetentionSweep.TotalSeconds:F0} s): {(emptied ? "every instance record removed" : "instance records left")} {waited.TotalSeconds:F0} s after the end; " +
                $"keys {keysAfter["all"]} ({string.Join(", ", keysAfter.Where(kv => kv.Key != "all" && kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}"))}); " +
                $"{kept.Writes} writes for {kept.Deleted} deletes, {kept.HostsRewritten} ended host records rewritten (e.g. \"{kept.HostReason}\"); RSS now {string.Join(" / ", kept.MemoryAfter.Select(m => m.CurrentMb.ToString("F0", CultureInfo.InvariantCulture)))} MB"));
        }
        var run = new ServedRun(instances, hosts, reported, wall, after - before, seen.Deletes, cpu, countersAfter - countersBefore, memory, done, hostsDone, active, duplicates, keys, kept, loadBefore, loadAfter);
        if (!run.Complete)
        {
            set.Keep();
        }
        return run;
    }

    /// <summary>
    /// Follows the store's watch until every host in the set is terminal, keeping each instance
    /// record's last state (a record deleted by the retention sweep keeps the state it ended in).
    /// </summary>
    private sealed class RunWatch(IReadOnlySet<string> hosts)
    {
        private readonly Dictionary<string, RecordState> _records = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HostState> _hosts = new(StringComparer.Ordinal);

        public int Deletes { get; private set; }

        public int Done => _records.Values.Count(s => s == RecordState.Done);

        public int HostsDone => _hosts.Values.Count(s => s == HostState.Done);

        public async Task FollowAsync(EtcdEvacuationStore observer, long after, CancellationToken ct)
        {
            var ended = 0;
            await foreach (var c in observer.WatchAsync(after, ct))
            {
                switch (c.Kind)
                {
                    case ChangeKind.InstancePut when c.Instance is { } v && hosts.Contains(v.Value.SourceHost):
                        _records[v.Value.Id] = v.Value.State;
                        break;
                    case ChangeKind.InstanceDeleted:
                        Deletes++;
                        break;
                    case ChangeKind.HostPut when c.Host is { } h && hosts.Contains(h.Value.Name):
                        var was = _hosts.TryGetValue(h.Value.Name, out var s) && s.IsTerminal();
                        _hosts[h.Value.Name] = h.Value.State;
                        if (!was && h.Value.IsTerminal && ++ended == hosts.Count)
                        {
                            return;
                        }
                        break;
                }
            }
            ct.ThrowIfCancellationRequested();
        }
    }

    private static TimeSpan Cpu(ServedSet set) => set.Daemons.Aggregate(TimeSpan.Zero, (sum, d) => sum + d.Cpu());

    private static void Progress(string line) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {line}"));
}
