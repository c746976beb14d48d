using System.Globalization;
using System.Text;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

/// <summary>The runs of one growth size.</summary>
internal sealed record GrowthSize(int Instances, IReadOnlyList<ServedRun> Runs);

/// <summary>What the process modes measured; a mode that broke off says why in <see cref="Failures"/>.</summary>
internal sealed record ServedResults(TimeSpan EtcdStartup, TakeoverResult? Takeover, ServedRun? Scale, IReadOnlyList<GrowthSize> Growth, IReadOnlyList<string> Failures)
{
    /// <summary>Growth target: per-instance cost from the second-largest to the largest size grows at most this much.</summary>
    public const double GrowthLimit = 2.0;

    /// <summary>Scale target: resident memory of each daemon, MB.</summary>
    public const double RssLimitMb = 200;

    public bool Ok =>
        Failures.Count == 0
        && (Takeover is null || (Takeover.Duplicates == 0 && Takeover.Reps.All(r => r.Done == r.Records && r.FirstResumed is not null)))
        && (Scale is null || Scale.Complete)
        && Growth.All(g => g.Runs.All(r => r.Complete));
}

/// <summary>
/// The modes that run the daemons as `evacuationd serve` processes, on one 3-member etcd
/// (fsync on) of their own: takeover, then the growth series from the smallest size, where
/// the scale run (with the retention wait) is the first run of its size.
/// </summary>
internal static class ServedModes
{
    public static async Task<ServedResults?> RunAsync(BenchOptions o, HttpClient http, CancellationToken ct)
    {
        var takeover = o.Has("takeover") && o.TakeoverRuns > 0;
        var scale = o.Has("scale") && o.ScaleHosts > 0;
        var growth = o.Has("growth") ? o.GrowthSizes : [];
        if (!takeover && !scale && growth.Count == 0)
        {
            return null;
        }
        Progress("etcd: starting 3 members for the process modes, fsync on");
        await using var cluster = await EtcdCluster.StartAsync(3, new EtcdClusterOptions { UnsafeNoFsync = false }, ct);
        var failures = new List<string>();
        TakeoverResult? t = null;
        if (takeover)
        {
            t = await Guard(failures, "takeover", () => TakeoverBench.RunAsync(cluster, o, ct));
        }
        ServedRun? s = null;
        var sizes = growth.ToList();
        if (scale && !sizes.Contains(o.ScaleInstances))
        {
            sizes.Add(o.ScaleInstances);
        }
        var series = new List<GrowthSize>();
        foreach (var size in sizes.Order())
        {
            var runs = new List<ServedRun>();
            var count = growth.Contains(size) ? o.GrowthRuns : 0;
            if (scale && size == o.ScaleInstances)
            {
                Progress($"scale: {o.ScaleHosts} hosts x {o.ScalePerHost} instances, then the retention sweep");
                s = await Guard(failures, "scale", () => ScaleBench.RunAsync(cluster, http, o, size, retention: true, ct));
                if (s is not null && count > 0)
                {
                    runs.Add(s);
                }
            }
            while (runs.Count < count)
            {
                Progress($"growth: {size} instances, run {runs.Count + 1} of {count}");
                var r = await Guard(failures, $"growth {size}", () => ScaleBench.RunAsync(cluster, http, o, size, retention: false, ct));
                if (r is null)
                {
                    break;
                }
                runs.Add(r);
            }
            if (count > 0)
            {
                series.Add(new GrowthSize(runs.Count > 0 ? runs[0].Instances : size, runs));
            }
        }
        return new ServedResults(cluster.StartupTime, t, s, series, failures);
    }

    /// <summary>A mode that breaks off (a bound passed, a daemon exited) is reported, not fatal to the others.</summary>
    private static async Task<T?> Guard<T>(List<string> failures, string mode, Func<Task<T>> run) where T : class
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or Grpc.Core.RpcException or HttpRequestException or IOException)
        {
            var message = $"{mode}: {e.GetType().Name}: {e.Message}";
            failures.Add(message);
            Progress($"FAILED {message}");
            return null;
        }
    }

    private static void Progress(string line) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {line}"));

    // ---- report ----

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>min / median / max.</summary>
    public static string Mmm(IReadOnlyList<double> v, int digits = 0)
    {
        if (v.Count == 0)
        {
            return "-";
        }
        var f = "F" + digits.ToString(Inv);
        return $"{v.Min().ToString(f, Inv)} / {Stats.Median(v).ToString(f, Inv)} / {v.Max().ToString(f, Inv)}";
    }

    private static string Met(bool met) => met ? "met" : "**not met**";

    /// <summary>One row per target of these modes: (target, limit, measured, verdict).</summary>
    public static IEnumerable<(string Target, string Limit, string Measured, string Verdict)> Targets(ServedResults r)
    {
        if (r.Takeover is { } t)
        {
            var kill = t.Kills.Select(x => x.FirstResumed ?? double.PositiveInfinity).ToList();
            var stop = t.Stops.Select(x => x.FirstResumed ?? double.PositiveInfinity).ToList();
            if (kill.Count > 0)
            {
                yield return ("Takeover after `kill -9`: first resumed step", string.Create(Inv, $"< lease TTL + 1 s = {t.KillTarget.TotalMilliseconds:F0} ms, every run"),
                    $"{Mmm(kill)} ms (min / median / max, {kill.Count} runs)", Met(kill.All(x => x < t.KillTarget.TotalMilliseconds)));
            }
            if (stop.Count > 0)
            {
                yield return ("Takeover after a graceful stop (SIGTERM): first resumed step", string.Create(Inv, $"< {TakeoverResult.StopTarget.TotalMilliseconds:F0} ms, every run"),
                    $"{Mmm(stop)} ms (min / median / max, {stop.Count} runs)", Met(stop.All(x => x < TakeoverResult.StopTarget.TotalMilliseconds)));
            }
        }
        if (r.Scale is { } s)
        {
            yield return (string.Create(Inv, $"Scale: {s.Instances:N0} instances across {s.Hosts} fenced hosts complete in evacsim"), "every record done, every instance ACTIVE on a healthy host, no duplicate",
                string.Create(Inv, $"done {s.Done:N0}, ACTIVE {s.Active:N0}, duplicates {s.Duplicates}, in {s.Wall.TotalSeconds:F1} s"), Met(s.Complete));
            var peak = s.Memory.Select(m => m.PeakMb).ToList();
            yield return ("Scale: daemon RSS", string.Create(Inv, $"< {ServedResults.RssLimitMb:F0} MB each"),
                $"peak (VmHWM) {string.Join(" / ", peak.Select(p => p.ToString("F0", Inv)))} MB", Met(peak.All(p => p < ServedResults.RssLimitMb)));
            if (s.Retention is { } k)
            {
                var hostsAndFixed = k.KeysAfter["all"] - k.KeysAfter["instances"];
                yield return ("Scale: etcd keys bounded (retention)", "no instance record left after Engine:Retention; what stays does not grow with instances",
                    string.Create(Inv, $"{s.KeysAtEnd["all"]:N0} keys at the end, {k.KeysAfter["all"]:N0} ({k.KeysAfter["instances"]:N0} instance records, {hostsAndFixed:N0} others) {k.Waited.TotalSeconds:F0} s later"),
                    Met(k.Emptied && k.KeysAfter["owners"] == 0));
            }
        }
        if (Growth(r) is { } g)
        {
            yield return (string.Create(Inv, $"Cost growth {g.From.Instances:N0} -> {g.To.Instances:N0} instances: per-instance cost"), string.Create(Inv, $"grows <= {ServedResults.GrowthLimit:F0}x (linear)"),
                string.Create(Inv, $"time x{g.Time:F2}, etcd writes x{g.Writes:F2}, daemon CPU x{g.Cpu:F2}"), Met(g.Time <= ServedResults.GrowthLimit && g.Writes <= ServedResults.GrowthLimit && g.Cpu <= ServedResults.GrowthLimit));
        }
    }

    private sealed record GrowthRatio(GrowthSize From, GrowthSize To, double Time, double Writes, double Cpu);

    /// <summary>Median per-instance cost of the largest size over that of the next smaller one.</summary>
    private static GrowthRatio? Growth(ServedResults r)
    {
        var sizes = r.Growth.Where(g => g.Runs.Count > 0).OrderBy(g => g.Instances).ToList();
        if (sizes.Count < 2)
        {
            return null;
        }
        var (a, b) = (sizes[^2], sizes[^1]);
        double Med(GrowthSize g, Func<ServedRun, double> f) => Stats.Median(g.Runs.Select(f).ToList());
        return new GrowthRatio(a, b,
            Med(b, x => x.MsPerInstance) / Med(a, x => x.MsPerInstance),
            Med(b, x => x.WritesPerInstance) / Med(a, x => x.WritesPerInstance),
            Med(b, x => x.CpuMsPerInstance) / Med(a, x => x.CpuMsPerInstance));
    }

    public static void Report(StringBuilder sb, BenchOptions o, ServedResults r)
    {
        void Line(string s = "") => sb.Append(s).Append('\n');
        Line("## Daemons as processes: takeover, scale, cost growth");
        Line();
        Line(string.Create(Inv, $"{o.Daemons} `evacuationd serve` processes (the evacuationd.dll built with this bench, `--config` with etcd, evacsim's Keystone, a loopback gRPC port) on a 3-member etcd of their own (fsync on, started in {r.EtcdStartup.TotalSeconds:F2} s); ") +
            "evacsim served in the bench process; fence reports go through the fence intake the gRPC API uses, from the bench's own etcd connection, which also watches the store. Each run has a fresh key prefix and evacsim.");
        if (o.DaemonEnvironment.Count > 0)
        {
            Line();
            Line("Daemon environment set by `--daemon-env`: " + string.Join(", ", o.DaemonEnvironment.Select(kv => $"`{kv.Key}={kv.Value}`")) + ".");
        }
        Line();
        foreach (var f in r.Failures)
        {
            Line($"- FAILED: {f}");
        }
        if (r.Failures.Count > 0)
        {
            Line();
        }
        if (r.Takeover is { } t)
        {
            TakeoverReport(Line, t);
        }
        if (r.Scale is { } s)
        {
            ScaleReport(Line, o, s);
        }
        if (r.Growth.Count > 0)
        {
            GrowthReport(Line, o, r);
        }
    }

    private static void TakeoverReport(Action<string> line, TakeoverResult t)
    {
        void Line(string s = "") => line(s);
        Line("### Takeover");
        Line();
        var shipped = t.LeaseTtl == TimeSpan.FromSeconds(10) ? "as shipped" : "shortened with --takeover-ttl-s; the rest as shipped";
        Line(string.Create(Inv, $"Engine defaults as shipped but for the blast-radius guard, which is opened: Engine:LeaseTtl {t.LeaseTtl.TotalSeconds:F0} s and KeepAliveInterval {t.KeepAlive.TotalSeconds:F1} s ({shipped}), ClaimGrace {t.ClaimGrace.TotalSeconds:F0} s, Workflow:PollInterval 2 s. ") +
            string.Create(Inv, $"Each run fences {t.HostsPerRep} hosts x {t.PerHost} instances in an evacsim whose rebuilds take {t.Rebuild.TotalSeconds:F0} s, waits until every record is rebuilding in Nova under an owner, ") +
            "then signals the daemon owning most of them; kill -9 and SIGTERM alternate, after one unmeasured warm-up fencing. Milliseconds after the signal, from a store watch opened before it: " +
            "first resumed = the first of the victim's records claimed by another daemon (the successor looked at Nova and took the record over; it follows the rebuild from there), " +
            "every resumed = the last of them, lease gone = the victim's daemon key deleted (expiry after kill -9, revoke after SIGTERM). The victim is then replaced by a new daemon and every record must still end done.");
        Line();
        Line("| stop | runs | records in flight (med) | first resumed ms (min / med / max) | target | every resumed ms | lease gone ms | process exited ms | records done | met |");
        Line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var (name, reps, target) in new[] { ("kill -9", t.Kills, t.KillTarget), ("SIGTERM", t.Stops, TakeoverResult.StopTarget) })
        {
            if (reps.Count == 0)
            {
                continue;
            }
            var first = reps.Select(x => x.FirstResumed ?? double.PositiveInfinity).ToList();
            Line(string.Create(Inv, $"| {name} | {reps.Count} | {Stats.Median(reps.Select(x => (double)x.InFlight).ToList()):F0} | {Mmm(first)} | < {target.TotalMilliseconds:F0} | ") +
                $"{Mmm(reps.Select(x => x.AllResumed ?? double.PositiveInfinity).ToList())} | {Mmm(reps.Select(x => x.LeaseGone ?? double.PositiveInfinity).ToList())} | {Mmm(reps.Select(x => x.Exited).ToList())} | " +
                string.Create(Inv, $"{reps.Sum(x => x.Done)}/{reps.Sum(x => x.Records)} | {Met(first.All(x => x < target.TotalMilliseconds))} |"));
        }
        Line();
        Line(string.Create(Inv, $"evacsim duplicate evacuations over all runs: {t.Duplicates} ({(t.Duplicates == 0 ? "PASS" : "FAIL")})."));
        Line();
        Line("| run | stop | victim | in flight | first resumed ms | every resumed ms | lease gone ms | exited ms | done | load (1 min) |");
        Line("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var x in t.Reps)
        {
            Line(string.Create(Inv, $"| {x.Rep} | {(x.Graceful ? "SIGTERM" : "kill -9")} | {x.Victim} | {x.InFlight} | {Ms(x.FirstResumed)} | {Ms(x.AllResumed)} | {Ms(x.LeaseGone)} | {x.Exited:F0} | {x.Done}/{x.Records} | {x.Load:F1} |"));
        }
        Line();
    }

    private static void ScaleReport(Action<string> line, BenchOptions o, ServedRun s)
    {
        void Line(string x = "") => line(x);
        Line("### Scale");
        Line();
        Line(string.Create(Inv, $"{s.Hosts} hosts x {o.ScalePerHost} instances = {s.Instances:N0} records, {o.SpareHosts} spare hosts, zero-latency evacsim; daemons with MaxConcurrentRecords {o.MaxConcurrentRecords}, ") +
            string.Create(Inv, $"Workflow:PollInterval {o.PollInterval.TotalMilliseconds:F0} ms, ClaimGrace {o.ClaimGrace.TotalMilliseconds:F0} ms, ClaimRampUp 0, Engine:Retention {o.Retention.TotalSeconds:F0} s (the least the daemon accepts), RetentionSweepInterval {o.RetentionSweep.TotalSeconds:F0} s; ") +
            string.Create(Inv, $"reports {o.ReportParallelism} at a time; one unmeasured 2-host warm-up fencing first. Timed from the first report to the last host record terminal."));
        Line();
        Line("| instances | wall s | records/s | reports acknowledged s | writes/instance (retention deletes in the run) | daemon CPU s | peak RSS MB per daemon (limit 200) | RSS MB at the end | done | ACTIVE in evacsim | duplicates | load (1 min) before / after |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        Line(string.Create(Inv, $"| {s.Instances:N0} | {s.Wall.TotalSeconds:F1} | {s.RecordsPerSecond:F0} | {s.Reported.TotalSeconds:F1} | {s.WritesPerInstance:F2} ({s.Deletes:N0}) | {s.DaemonCpu.TotalSeconds:F1} | ") +
            $"{string.Join(" / ", s.Memory.Select(m => m.PeakMb.ToString("F0", Inv)))} | {string.Join(" / ", s.Memory.Select(m => m.CurrentMb.ToString("F0", Inv)))} | " +
            string.Create(Inv, $"{s.Done:N0} | {s.Active:N0} | {s.Duplicates} | {s.LoadBefore:F1} / {s.LoadAfter:F1} |"));
        Line();
        if (s.Retention is { } k)
        {
            Line("etcd keys under the run's prefix:");
            Line();
            var kinds = s.KeysAtEnd.Keys.Where(x => x != "all").ToList();
            Line("| when | all | " + string.Join(" | ", kinds) + " |");
            Line("| --- | ---: | " + string.Join(" | ", kinds.Select(_ => "---:")) + " |");
            Line($"| at the end | {s.KeysAtEnd["all"].ToString("N0", Inv)} | " + string.Join(" | ", kinds.Select(x => s.KeysAtEnd[x].ToString("N0", Inv))) + " |");
            Line(string.Create(Inv, $"| {k.Waited.TotalSeconds:F0} s later | {k.KeysAfter["all"]:N0} | ") + string.Join(" | ", kinds.Select(x => k.KeysAfter[x].ToString("N0", Inv))) + " |");
            Line();
            Line(string.Create(Inv, $"- {(k.Emptied ? "Every instance record was removed by the retention sweep" : "Instance records were still there when the wait ended")} {k.Waited.TotalSeconds:F0} s after the run's end (Engine:Retention {k.Retention.TotalSeconds:F0} s after a record's last change, sweeps every {k.Sweep.TotalSeconds:F0} s). ") +
                "What stays is one host record per host ever fenced (it carries the fence generation), the live daemons and the control record: bounded by the hosts, not by the instances.");
            Line(string.Create(Inv, $"- Writes during the wait: {k.Writes:N0} for {k.Deleted:N0} deleted instance records; {k.HostsRewritten} of the {s.Hosts} host records, all ended before the wait, were written again") +
                (k.HostReason is { } why ? $" (last reason of one: \"{why}\")." : "."));
            Line($"- RSS after the wait: {string.Join(" / ", k.MemoryAfter.Select(m => m.CurrentMb.ToString("F0", Inv)))} MB.");
            Line();
        }
    }

    private static void GrowthReport(Action<string> line, BenchOptions o, ServedResults r)
    {
        void Line(string x = "") => line(x);
        Line("### Cost growth");
        Line();
        Line(string.Create(Inv, $"The scale run's setting at each size ({o.ScalePerHost} instances per fenced host), {o.GrowthRuns} runs per size, each on fresh daemons after a warm-up fencing") +
            (r.Scale is not null ? "; the scale run is the first run of its size." : ".") +
            " Per instance: wall time, etcd writes (revisions less the retention sweep's deletes during the run), CPU of the daemon processes, etcd RPCs (all members), CPU of the bench process (evacsim and the observer). Linear growth keeps every per-instance figure flat. Load: the machine's 1-minute load average (mean of before and after each run).");
        Line();
        Line("| instances | hosts | runs | wall s (min / med / max) | ms per instance | writes per instance | daemon CPU ms per instance | Txn RPCs per instance | Range RPCs per instance | bench CPU ms per instance | etcd CPU ms per instance | peak RSS MB (max over daemons) | load (1 min) | complete |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var g in r.Growth)
        {
            var runs = g.Runs;
            if (runs.Count == 0)
            {
                Line($"| {g.Instances.ToString("N0", Inv)} | | 0 | | | | | | | | | | | no run |");
                continue;
            }
            List<double> Of(Func<ServedRun, double> f) => runs.Select(f).ToList();
            Line(string.Create(Inv, $"| {g.Instances:N0} | {runs[0].Hosts} | {runs.Count} | {Mmm(Of(x => x.Wall.TotalSeconds), 1)} | {Mmm(Of(x => x.MsPerInstance), 2)} | {Mmm(Of(x => x.WritesPerInstance), 2)} | ") +
                $"{Mmm(Of(x => x.CpuMsPerInstance), 2)} | {Mmm(Of(x => x.Etcd.Txn / x.Instances), 2)} | {Mmm(Of(x => x.Etcd.Range / x.Instances), 2)} | " +
                $"{Mmm(Of(x => x.Etcd.BenchCpu.TotalMilliseconds / x.Instances), 2)} | {Mmm(Of(x => x.Etcd.EtcdCpu.TotalMilliseconds / x.Instances), 2)} | {Mmm(Of(x => x.Memory.Max(m => m.PeakMb)))} | " +
                $"{Mmm(Of(x => (x.LoadBefore + x.LoadAfter) / 2), 1)} | {(runs.All(x => x.Complete) ? "yes" : "**no**")} |");
        }
        Line();
        if (Growth(r) is { } ratio)
        {
            var met = ratio.Time <= ServedResults.GrowthLimit && ratio.Writes <= ServedResults.GrowthLimit && ratio.Cpu <= ServedResults.GrowthLimit;
            Line(string.Create(Inv, $"From {ratio.From.Instances:N0} to {ratio.To.Instances:N0} instances the median per-instance cost grows: time x{ratio.Time:F2}, etcd writes x{ratio.Writes:F2}, daemon CPU x{ratio.Cpu:F2} ") +
                string.Create(Inv, $"(limit x{ServedResults.GrowthLimit:F0}: {Met(met)})."));
            Line();
        }
    }

    private static string Ms(double? v) => v is { } x ? x.ToString("F0", Inv) : "-";
}
