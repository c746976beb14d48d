using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Etcd;
using Evacuationd.Simulator;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

/// <summary>One takeover: the victim's in-flight records and, in ms after its signal, when others resumed them.</summary>
/// <param name="InFlight">Instance records the victim owned with work left (all rebuilding in Nova) when it was signalled.</param>
/// <param name="FirstResumed">The first of them claimed by another daemon (a claim follows the successor's look at Nova).</param>
/// <param name="AllResumed">Every one of them claimed by another daemon.</param>
/// <param name="LeaseGone">The victim's daemon key deleted: its lease expired (kill -9) or was revoked (graceful stop).</param>
/// <param name="Exited">The victim's process exited.</param>
internal sealed record TakeoverRep(bool Graceful, int Rep, string Victim, int InFlight, double? FirstResumed, double? AllResumed, double? LeaseGone, double Exited, int Records, int Done, double Load);

internal sealed record TakeoverResult(TimeSpan LeaseTtl, TimeSpan KeepAlive, TimeSpan ClaimGrace, TimeSpan Rebuild, int HostsPerRep, int PerHost, IReadOnlyList<TakeoverRep> Reps, int Duplicates)
{
    public IReadOnlyList<TakeoverRep> Kills => Reps.Where(r => !r.Graceful).ToList();

    public IReadOnlyList<TakeoverRep> Stops => Reps.Where(r => r.Graceful).ToList();

    /// <summary>Target of a kill -9: the lease TTL + 1 s.</summary>
    public TimeSpan KillTarget => LeaseTtl + TimeSpan.FromSeconds(1);

    /// <summary>Target of a graceful stop: 1 s.</summary>
    public static TimeSpan StopTarget => TimeSpan.FromSeconds(1);
}

/// <summary>
/// Takeover as an operator lives it: daemons as `evacuationd serve` processes with the shipped
/// engine defaults (lease, keepalive, claim grace, poll interval; only the blast-radius guard
/// is opened) on the 3-member etcd; evacsim rebuilds slowly, so a fencing's records are
/// rebuilding in Nova when the daemon owning most of them is killed with SIGKILL or stopped
/// with SIGTERM. A store watch (opened before the signal) times the first claim of one of its
/// records by another daemon. The victim is replaced by a new daemon each time, and every
/// record must still end done with no second evacuate (evacsim's count).
/// </summary>
internal static class TakeoverBench
{
    public static async Task<TakeoverResult> RunAsync(EtcdCluster cluster, BenchOptions o, CancellationToken ct)
    {
        var ttl = o.TakeoverLeaseTtl;
        // the shipped 10 s / 3 s, or the same proportion for a shorter TTL (a quick run)
        var keepAlive = ttl == TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(3) : TimeSpan.FromMilliseconds(Math.Max(300, ttl.TotalMilliseconds * 0.3));
        var rebuild = o.TakeoverRebuild ?? ttl + TimeSpan.FromSeconds(4);
        var reps = 2 * o.TakeoverRuns;
        var hostsPerRep = o.TakeoverHosts;
        var sim = new SimulatorOptions
        {
            Hosts = 1 + reps * hostsPerRep + o.SpareHosts,
            InstancesPerHost = o.TakeoverPerHost,
            Rebuild = rebuild,
            ServiceDownTime = TimeSpan.Zero,
        };
        var engine = new JsonObject
        {
            ["LeaseTtl"] = ServedSet.Span(ttl),
            ["KeepAliveInterval"] = ServedSet.Span(keepAlive),
            ["Policy"] = ServedSet.WidePolicyJson(),
        };
        if (ttl < TimeSpan.FromSeconds(3))
        {
            engine["LeaseSafetyMargin"] = ServedSet.Span(ttl / 4);
        }
        await using var set = await ServedSet.StartAsync(cluster, sim, engine, o.Daemons, "t", o.DaemonEnvironment, ct);
        if (o.KeepLogs)
        {
            set.Keep();
        }
        var hosts = set.Sim.HostNames();
        var next = 0;
        var nextId = o.Daemons + 1;
        var settle = rebuild + ttl + TimeSpan.FromSeconds(120);
        set.PowerOff(hosts.Skip(1).Take(reps * hostsPerRep)); // the warm-up's rebuilds land on spare hosts only

        // warm-up (not counted): one fencing start to end, so that the daemons' code is jitted
        await FenceAndWaitAsync(set, [hosts[next++]], settle, "warm-up fencing", ct);
        Progress($"takeover: warm-up fencing done ({rebuild.TotalSeconds:F0} s rebuilds)");

        var results = new List<TakeoverRep>();
        for (var rep = 1; rep <= reps; rep++)
        {
            var graceful = rep % 2 == 0;
            var fenced = hosts.Skip(next).Take(hostsPerRep).ToList();
            next += hostsPerRep;
            var mine = fenced.ToHashSet(StringComparer.Ordinal);
            var expected = fenced.Sum(set.InstancesOn);
            await set.ReportAsync(fenced, 8, ct);
            // every record of these hosts rebuilding in Nova under an owner
            var s = await set.UntilAsync(x =>
            {
                var rs = x.Instances.Where(v => mine.Contains(v.Value.SourceHost)).ToList();
                // (on a starved machine a rebuild may end before the last one started: ended records are fine)
                return rs.Count == expected && rs.Any(v => v.Value.State == RecordState.Rebuilding)
                    && rs.All(v => v.Value.IsTerminal || (v.Value.State == RecordState.Rebuilding && x.Owners.ContainsKey(RecordKey.Instance(v.Value.Id))));
            }, TimeSpan.FromSeconds(120), $"takeover {rep}: records in flight", ct);

            var running = set.Daemons.ToDictionary(d => d.Id, StringComparer.Ordinal);
            var open = s.Instances.Where(v => !v.Value.IsTerminal).ToDictionary(v => RecordKey.Instance(v.Value.Id));
            var victimId = s.Owners.Where(kv => open.ContainsKey(kv.Key) && running.ContainsKey(kv.Value))
                .GroupBy(kv => kv.Value).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
            var victim = running[victimId];
            var keys = s.Owners.Where(kv => kv.Value == victimId && open.ContainsKey(kv.Key)).Select(kv => kv.Key).ToHashSet();

            // watch from the newest record write, so that its replay says the watch is open before the signal
            var from = s.Instances.Max(v => v.Revision) - 1;
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bound.CancelAfter(ttl + TimeSpan.FromSeconds(60));
            var follow = FollowAsync(set.Observer, from, victimId, keys, opened, bound.Token);
            await Task.WhenAny(opened.Task, follow, Task.Delay(TimeSpan.FromSeconds(30), ct));
            if (!opened.Task.IsCompleted)
            {
                set.Keep();
                throw new TimeoutException($"takeover {rep}: the store watch did not open within 30 s");
            }

            var load = Stats.Load1();
            var signalled = Stopwatch.GetTimestamp();
            victim.Signal(graceful ? ServedDaemon.SigTerm : ServedDaemon.SigKill);
            var exited = victim.WaitForExitAsync(TimeSpan.FromSeconds(60)).ContinueWith(t => (t.Result, Stopwatch.GetTimestamp()), ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var seen = await follow;
            var (left, exitedAt) = await exited;
            if (!left)
            {
                set.Keep();
                throw new TimeoutException($"takeover {rep}: {victimId} did not exit within 60 s of its {(graceful ? "SIGTERM" : "SIGKILL")}");
            }
            set.Remove(victim);
            var replacement = $"t{(nextId++).ToString(CultureInfo.InvariantCulture)}";
            await set.StartDaemonAsync(replacement, ct);

            var end = await FenceEndAsync(set, mine, expected, settle, $"takeover {rep}: records ending", ct);
            var r = new TakeoverRep(graceful, rep, victimId, keys.Count, Ms(signalled, seen.First), Ms(signalled, seen.All), Ms(signalled, seen.LeaseGone),
                Ms(signalled, exitedAt)!.Value, expected, end.Count(v => mine.Contains(v.Value.SourceHost) && v.Value.State == RecordState.Done), load);
            results.Add(r);
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"takeover {rep} ({(graceful ? "SIGTERM" : "kill -9")} of {victimId}, {r.InFlight} records in flight): first resumed after {F(r.FirstResumed)} ms, all after {F(r.AllResumed)} ms, " +
                $"lease gone after {F(r.LeaseGone)} ms, exited after {r.Exited:F0} ms; {r.Done}/{r.Records} done; replaced by {replacement}; load {load:F1}"));
        }
        return new TakeoverResult(ttl, keepAlive, TimeSpan.FromSeconds(1), rebuild, hostsPerRep, o.TakeoverPerHost, results, set.Sim.GetStats().DuplicateEvacuations);
    }

    private static async Task FenceAndWaitAsync(ServedSet set, IReadOnlyList<string> hosts, TimeSpan timeout, string what, CancellationToken ct)
    {
        var mine = hosts.ToHashSet(StringComparer.Ordinal);
        var expected = hosts.Sum(set.InstancesOn);
        await set.ReportAsync(hosts, 8, ct);
        await FenceEndAsync(set, mine, expected, timeout, what, ct);
    }

    /// <summary>Every record of <paramref name="hosts"/> and their host records terminal.</summary>
    private static async Task<IReadOnlyList<Versioned<InstanceRecord>>> FenceEndAsync(ServedSet set, IReadOnlySet<string> hosts, int expected, TimeSpan timeout, string what, CancellationToken ct)
    {
        var s = await set.UntilAsync(x =>
            x.Instances.Count(v => hosts.Contains(v.Value.SourceHost) && v.Value.IsTerminal) == expected &&
            x.Hosts.Count(h => hosts.Contains(h.Value.Name) && h.Value.IsTerminal) == hosts.Count, timeout, what, ct);
        return s.Instances;
    }

    private sealed record Seen(long? First, long? All, long? LeaseGone);

    /// <summary>Follows the store's watch until every key in <paramref name="keys"/> was claimed by another daemon and the victim's lease is gone (or the bound).</summary>
    private static async Task<Seen> FollowAsync(EtcdEvacuationStore observer, long from, string victim, IReadOnlySet<RecordKey> keys, TaskCompletionSource opened, CancellationToken ct)
    {
        long? first = null, all = null, gone = null;
        var claimed = new HashSet<RecordKey>();
        try
        {
            await foreach (var c in observer.WatchAsync(from, ct))
            {
                opened.TrySetResult();
                var now = Stopwatch.GetTimestamp();
                if (c.Kind == ChangeKind.OwnerPut && c.Key is { } k && keys.Contains(k) && c.Owner != victim && claimed.Add(k))
                {
                    first ??= now;
                    if (claimed.Count == keys.Count)
                    {
                        all = now;
                    }
                }
                else if (c.Kind == ChangeKind.DaemonDeleted && c.Daemon?.Id == victim)
                {
                    gone ??= now;
                }
                if (all is not null && gone is not null)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!opened.Task.IsCompleted || ct.IsCancellationRequested)
        {
            // the bound passed: report what was seen
        }
        return new Seen(first, all, gone);
    }

    private static double? Ms(long from, long? to) => to is { } t ? (t - from) * 1000.0 / Stopwatch.Frequency : null;

    private static string F(double? ms) => ms is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "-";

    private static void Progress(string line) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {line}"));
}
