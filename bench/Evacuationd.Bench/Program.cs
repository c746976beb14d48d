using System.Diagnostics;
using System.Globalization;
using System.Text;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

/// <summary>
/// evacuationd-bench: for each etcd size (fresh cluster, fsync on) measures etcd's own
/// compare-and-swap rate, then the engine's record rate in a mass fencing against a
/// zero-latency evacsim, and prints one markdown report. Not a test: the checks (every
/// instance done, no duplicate evacuation) only make the exit code non-zero.
/// </summary>
internal static class Program
{
    private sealed record ClusterResult(int Members, TxnRates Txn, IReadOnlyList<ScenarioResult> Runs, TimeSpan Startup, IReadOnlyList<Reaction> Reactions);

    private sealed record AllocationProfile(int Members, ScenarioResult Run, IReadOnlyList<(string Type, long Bytes)> Types);

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help"))
        {
            await Console.Out.WriteLineAsync(BenchOptions.Usage);
            return 0;
        }
        BenchOptions o;
        try
        {
            o = BenchOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync(e.Message + "\n" + BenchOptions.Usage);
            return 2;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        try
        {
            return await RunAsync(o, cts.Token);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or Grpc.Core.RpcException or HttpRequestException or EtcdUnavailableException or EtcdStartException)
        {
            await Console.Error.WriteLineAsync($"bench failed: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> RunAsync(BenchOptions o, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var total = Stopwatch.GetTimestamp();
        var results = new List<ClusterResult>();
        AllocationProfile? profile = null;
        foreach (var members in o.Has("rate") ? o.Members : [])
        {
            Progress($"etcd: starting {members} member(s), fsync on");
            await using var cluster = await EtcdCluster.StartAsync(members, new EtcdClusterOptions { UnsafeNoFsync = false }, ct);
            Progress($"etcd: {members} member(s) up in {cluster.StartupTime.TotalSeconds:F2} s");

            var txn = await TxnBench.RunAsync(cluster.Client.GetConnection().KVClient, $"/evacuationd-bench/txn-{Guid.NewGuid():N}", o, ct);
            Progress($"etcd: CAS txn/s sequential {Join(txn.Sequential)}, {o.Parallelism} parallel {Join(txn.Parallel)}");

            for (var warm = 1; warm <= o.WarmUpRuns; warm++)
            {
                // full-size runs: JIT tiering and connection pools settle before anything is measured
                var w = await ScenarioBench.RunAsync(cluster, http, o, o.FencedHosts, o.InstancesPerHost, ct);
                Progress($"warm-up {warm} (not counted): {w.Instances} instances in {w.Wall.TotalSeconds:F2} s = {w.RecordsPerSecond:F0} records/s");
            }
            var runs = new List<ScenarioResult>();
            for (var run = 1; run <= o.Runs; run++)
            {
                var r = await ScenarioBench.RunAsync(cluster, http, o, o.FencedHosts, o.InstancesPerHost, ct);
                runs.Add(r);
                Progress($"run {run}: {r.Instances} instances in {r.Wall.TotalSeconds:F2} s = {r.RecordsPerSecond:F0} records/s, " +
                    $"{r.WritesPerInstance:F2} writes/instance, done {r.Done}, duplicates {r.Duplicates}");
            }
            IReadOnlyList<Reaction> reactions = [];
            if (o.ReactionFencings > 0)
            {
                reactions = await ReactionBench.RunAsync(cluster, o, ct);
                var first = reactions.Select(r => r.FirstEvacuate).ToList();
                Progress($"reaction: {reactions.Count} single-host fencings, first evacuate call p50 {F(Stats.Median(first), 1)} ms, p99 {F(Stats.Percentile(first, 99), 1)} ms");
            }
            results.Add(new ClusterResult(members, txn, runs, cluster.StartupTime, reactions));
            if (o.AllocationTypes && profile is null)
            {
                using var sampler = new AllocationSampler();
                sampler.Start();
                var r = await ScenarioBench.RunAsync(cluster, http, o, o.FencedHosts, o.InstancesPerHost, ct);
                profile = new AllocationProfile(members, r, sampler.Stop());
                Progress($"allocation-sampled run (not counted): {r.Instances} instances in {r.Wall.TotalSeconds:F2} s");
            }
        }

        var served = await ServedModes.RunAsync(o, http, ct);

        var report = Report(o, results, profile, served, Stopwatch.GetElapsedTime(total));
        await Console.Out.WriteAsync(report);
        if (o.ReportPath is { } path)
        {
            await File.WriteAllTextAsync(path, report, ct);
        }
        var ok = results.All(c => c.Runs.All(r => r.Done == r.Instances && r.Duplicates == 0 && r.HostsDone == o.FencedHosts)) && (served?.Ok ?? true);
        return ok ? 0 : 1;
    }

    private static void Progress(string line) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {line}"));

    private static string Join(IEnumerable<double> v) => string.Join(" / ", v.Select(x => N0(x)));

    private static string N0(double x) => x.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double x, int digits) => x.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string Report(BenchOptions o, IReadOnlyList<ClusterResult> results, AllocationProfile? profile, ServedResults? served, TimeSpan took)
    {
        var sb = new StringBuilder();
        void Line(string s = "") => sb.Append(s).Append('\n');
        var inv = CultureInfo.InvariantCulture;

        Line("## Targets");
        Line();
        Line("| target | limit | measured | verdict |");
        Line("| --- | --- | --- | --- |");
        foreach (var (target, limit, measured, verdict) in RateTargets(results).Concat(served is null ? [] : ServedModes.Targets(served)))
        {
            Line($"| {target} | {limit} | {measured} | {verdict} |");
        }
        Line();
        if (served is not null)
        {
            ServedModes.Report(sb, o, served);
        }
        if (results.Count == 0)
        {
            Line(string.Create(inv, $"Bench took {took.TotalSeconds:F0} s."));
            return sb.ToString();
        }

        Line("## Summary");
        Line();
        Line(string.Create(inv, $"{o.FencedHosts} hosts x {o.InstancesPerHost} instances = {o.FencedInstances} records, {o.SpareHosts} spare hosts, " +
            $"{o.Daemons} daemons (MaxConcurrentRecords {o.MaxConcurrentRecords}, PollInterval {o.PollInterval.TotalMilliseconds} ms, ClaimGrace {o.ClaimGrace.TotalMilliseconds} ms, ClaimRampUp 0, " +
            $"Policy:MaxInFlightEvacuations {(o.MaxInFlight is { } m ? (m == 0 ? "0 (no limit)" : m.ToString(inv)) : $"{new Evacuationd.Core.Planning.PolicyOptions().MaxInFlightEvacuations} (shipped)")}), " +
            $"zero-latency evacsim, etcd fsync on; {o.Runs} runs per cluster size (each on a fresh key prefix and a fresh evacsim, after {o.WarmUpRuns} unmeasured full-size warm-up runs), " +
            $"txn rates are the median of {o.TxnRounds} rounds. Timed from the first fence report to the last host record terminal, seen on a store watch."));
        Line();
        Line("| members | etcd seq txn/s | etcd parallel txn/s | writes/instance | records/s (min/med/max) | limit records/s | share | done | duplicates |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in results)
        {
            var rates = c.Runs.Select(r => r.RecordsPerSecond).ToList();
            var wpi = Stats.Median(c.Runs.Select(r => r.WritesPerInstance).ToList());
            var limit = c.Txn.ParallelMedian / wpi;
            var med = Stats.Median(rates);
            var done = c.Runs.All(r => r.Done == r.Instances)
                ? string.Create(inv, $"{c.Runs.Count}x {c.Runs[0].Done}/{c.Runs[0].Instances}")
                : string.Join(", ", c.Runs.Select(r => string.Create(inv, $"{r.Done}/{r.Instances}")));
            Line(string.Create(inv, $"| {c.Members} | {N0(c.Txn.SequentialMedian)} | {N0(c.Txn.ParallelMedian)} | {F(wpi, 2)} | " +
                $"{N0(rates.Min())} / {N0(med)} / {N0(rates.Max())} | {N0(limit)} | {F(100 * med / limit, 0)}% | {done} | {c.Runs.Sum(r => r.Duplicates)} |"));
        }
        Line();
        Line("- writes/instance = (etcd revision after - before) / records: every committed write transaction bumps the revision once, keepalives do not; the 20 fence reports and the host transitions are included.");
        Line("- limit = etcd parallel txn/s / writes per instance: the record rate if etcd's CAS throughput were the only bound; share = median records/s / limit.");
        Line("- evacsim runs with Rebuild = 0 and ServiceDownTime = 0: a powered-off host reads down at once, so evacsim's scheduler can never place a rebuild on a fenced host in the ~100 ms before the engine forces it down (with Nova's 60 s that race is possible, and such a rebuild stalls on the dead host).");
        if (results.Any(c => c.Reactions.Count > 0))
        {
            Line();
            Line("### Reaction");
            Line();
            Line(string.Create(inv, $"{o.ReactionFencings} single-host fencings (5 instances each), one after the other on an idle installation, {o.Daemons} daemons with the shipped defaults ") +
                "(`EngineOptions` as `evacuationd serve` starts them; only the blast-radius window is widened so every host is taken), reported through the fence intake the gRPC API uses. " +
                "Milliseconds from the start of the report to: its acknowledgement (the host record committed) and the first evacuate call for that host answered by evacsim. Target: p50 < 50 ms, p99 < 250 ms (3 members).");
            Line();
            Line("| members | fencings | acknowledged p50 / p99 | first evacuate p50 / p99 / max | target met |");
            Line("| ---: | ---: | ---: | ---: | --- |");
            foreach (var c in results.Where(c => c.Reactions.Count > 0))
            {
                var ack = c.Reactions.Select(r => r.Acknowledged).ToList();
                var first = c.Reactions.Select(r => r.FirstEvacuate).ToList();
                var met = Stats.Median(first) < 50 && Stats.Percentile(first, 99) < 250 ? "yes" : "no";
                Line(string.Create(inv, $"| {c.Members} | {c.Reactions.Count} | {F(Stats.Median(ack), 1)} / {F(Stats.Percentile(ack, 99), 1)} | " +
                    $"{F(Stats.Median(first), 1)} / {F(Stats.Percentile(first, 99), 1)} / {F(first.Max(), 1)} | {met} |"));
            }
        }
        Line();
        Line("Checks:");
        Line();
        foreach (var c in results)
        {
            var allDone = c.Runs.All(r => r.Done == r.Instances);
            var hosts = c.Runs.All(r => r.HostsDone == o.FencedHosts);
            var dup = c.Runs.Sum(r => r.Duplicates);
            Line(string.Create(inv, $"- {c.Members} member(s): every instance record ended done in every run: {(allDone ? "PASS" : "FAIL")}; " +
                $"every host record ended done: {(hosts ? "PASS" : "FAIL")}; evacsim duplicate evacuations = {dup}: {(dup == 0 ? "PASS" : "FAIL")}"));
        }
        Line();

        Line("## Per run");
        Line();
        Line("| members | run | wall s | records/s | writes/inst | Txn RPCs/inst | txns not writing/inst | Range RPCs/inst | WAL fsyncs/s | fsync ms (avg) | CPU bench s | CPU etcd s | cores busy | alloc MB | GCs 0/1/2 | Nova calls/inst | done | hosts done | dup |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in results)
        {
            for (var i = 0; i < c.Runs.Count; i++)
            {
                var r = c.Runs[i];
                var e = r.Etcd;
                var n = (double)r.Instances;
                var wall = r.Wall.TotalSeconds;
                Line(string.Create(inv, $"| {c.Members} | {i + 1} | {F(wall, 2)} | {N0(r.RecordsPerSecond)} | {F(r.WritesPerInstance, 2)} | {F(e.Txn / n, 2)} | {F((e.Txn - r.Writes) / n, 2)} | {F(e.Range / n, 2)} | " +
                    $"{N0(e.Fsyncs / wall)} | {F(e.Fsyncs > 0 ? 1000 * e.FsyncSeconds / e.Fsyncs : double.NaN, 2)} | {F(e.BenchCpu.TotalSeconds, 1)} | {F(e.EtcdCpu.TotalSeconds, 1)} | " +
                    $"{F((e.BenchCpu + e.EtcdCpu).TotalSeconds / wall, 2)} | {N0(e.Allocated / 1048576.0)} | {e.Gen0}/{e.Gen1}/{e.Gen2} | {F(r.NovaCalls.Values.Sum() / n, 2)} | {r.Done} | {r.HostsDone} | {r.Duplicates} |"));
            }
        }
        Line();
        Line("- Txn/Range RPCs: etcd's grpc_server_handled_total summed over members; txns not writing = Txn RPCs - writes (compares that failed: mostly claims lost to another daemon). Range RPCs include the runners' record reads and the daemons' snapshot reads.");
        Line("- WAL fsyncs/s and fsync ms: etcd_disk_wal_fsync_duration_seconds of the busiest member. CPU: this process (3 daemons, evacsim, observer) and the etcd processes; cores busy = their sum / wall. alloc MB and GCs: this process.");
        Line();

        Line("## Where the time goes");
        Line();
        Line("Milliseconds, median / p95 / max over the records of each run (from the records' own history timestamps).");
        Line();
        Line("| members | run | host planned after report | instance done after report | accepted -> evacuating (waiting for a slot + claim read + Nova reads) | evacuating -> rebuilding (claim txn + evacuate call) | rebuilding -> done (txn + Nova reads) |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in results)
        {
            for (var i = 0; i < c.Runs.Count; i++)
            {
                var r = c.Runs[i];
                Line(string.Create(inv, $"| {c.Members} | {i + 1} | {S(r.HostPlanned)} | {S(r.InstanceDone)} | {S(r.SlotWait)} | {S(r.ClaimAndCall)} | {S(r.Follow)} |"));
            }
        }
        Line();

        Line("## Nova calls per instance (last run of each size)");
        Line();
        var kinds = results.SelectMany(c => c.Runs[^1].NovaCalls.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        Line("| call | " + string.Join(" | ", results.Select(c => string.Create(inv, $"{c.Members} member(s)"))) + " |");
        Line("| --- | " + string.Join(" | ", results.Select(_ => "---:")) + " |");
        foreach (var k in kinds)
        {
            Line($"| {Code(k)} | " + string.Join(" | ", results.Select(c =>
                F((c.Runs[^1].NovaCalls.TryGetValue(k, out var v) ? v : 0) / (double)c.Runs[^1].Instances, 3))) + " |");
        }
        Line();
        if (profile is not null)
        {
            var sum = profile.Types.Sum(t => t.Bytes);
            Line(string.Create(inv, $"## Allocations by type (one extra run on {profile.Members} member(s), not counted above)"));
            Line();
            Line(string.Create(inv, $"Sampled with the runtime's GCAllocationTick event (one sample per ~100 KB, attributed to the type that crossed the mark): " +
                $"{N0(sum / 1048576.0)} MB sampled in {F(profile.Run.Wall.TotalSeconds, 2)} s = {N0(sum / 1024.0 / profile.Run.Instances)} KB per instance."));
            Line();
            Line("| type | MB | share |");
            Line("| --- | ---: | ---: |");
            foreach (var (type, bytes) in profile.Types.Take(15))
            {
                Line(string.Create(inv, $"| {Code(type)} | {N0(bytes / 1048576.0)} | {F(100.0 * bytes / sum, 1)}% |"));
            }
            Line();
        }
        Line("## etcd's compare-and-swap rounds");
        Line();
        Line("| members | start-up s | sequential txn/s per round | parallel txn/s per round |");
        Line("| ---: | ---: | ---: | ---: |");
        foreach (var c in results)
        {
            Line(string.Create(inv, $"| {c.Members} | {F(c.Startup.TotalSeconds, 2)} | {Join(c.Txn.Sequential)} | {Join(c.Txn.Parallel)} |"));
        }
        Line();
        Line(string.Create(inv, $"Sequential: {o.SequentialTxns} txns on one key; parallel: {o.ParallelTxns} txns, {o.Parallelism} writers on {o.Parallelism} keys; " +
            $"each txn is `mod_revision(key) == last ? put(key, 256 B)` on the raw no-retry KV client over all members. Bench took {took.TotalSeconds:F0} s."));
        return sb.ToString();
    }

    /// <summary>The targets the rate mode measures, on the largest cluster it ran (issue 10 names 3 members).</summary>
    private static IEnumerable<(string, string, string, string)> RateTargets(IReadOnlyList<ClusterResult> results)
    {
        if (results.Count == 0)
        {
            yield break;
        }
        var c = results.MaxBy(x => x.Members)!;
        var inv = CultureInfo.InvariantCulture;
        static string Met(bool met) => met ? "met" : "**not met**";
        if (c.Reactions.Count > 0)
        {
            var first = c.Reactions.Select(r => r.FirstEvacuate).ToList();
            var p50 = Stats.Median(first);
            var p99 = Stats.Percentile(first, 99);
            yield return (string.Create(inv, $"Reaction ({c.Members} members): report to first evacuate call"), "p50 < 50 ms, p99 < 250 ms",
                string.Create(inv, $"p50 {p50:F1} ms, p99 {p99:F1} ms ({first.Count} fencings)"), Met(p50 < 50 && p99 < 250));
        }
        if (c.Runs.Count > 0)
        {
            var rates = c.Runs.Select(r => r.RecordsPerSecond).ToList();
            var wpi = Stats.Median(c.Runs.Select(r => r.WritesPerInstance).ToList());
            var limit = c.Txn.ParallelMedian / wpi;
            var share = Stats.Median(rates) / limit;
            yield return (string.Create(inv, $"Overhead at scale ({c.Members} members): records/s against the etcd-bound limit"), ">= 70% of the limit",
                string.Create(inv, $"{N0(rates.Min())} / {N0(Stats.Median(rates))} / {N0(rates.Max())} records/s (min / med / max) = {100 * share:F0}% of {N0(limit)}"), Met(share >= 0.7));
            yield return (string.Create(inv, $"Writes per instance ({c.Members} members), happy path"), "<= 4",
                string.Create(inv, $"{ServedModes.Mmm(c.Runs.Select(r => r.WritesPerInstance).ToList(), 2)} (min / med / max)"), Met(wpi <= 4));
        }
    }

    /// <summary>A markdown code span; names with a backtick (generic types) get a double-backtick fence.</summary>
    private static string Code(string text) => text.Contains('`', StringComparison.Ordinal) ? $"`` {text} ``" : $"`{text}`";

    private static string S(Spread s) => string.Create(CultureInfo.InvariantCulture, $"{s.Median:F0} / {s.P95:F0} / {s.Max:F0}");
}
