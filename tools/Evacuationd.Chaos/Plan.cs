using System.Globalization;
using System.Text;

namespace Evacuationd.Chaos;

/// <summary>What the harness does to the system.</summary>
internal enum FaultKind
{
    DaemonKill,
    DaemonRestart,
    DaemonPartition,
    DaemonEtcdCut,
    DaemonPause,
    EtcdMemberKill,
    EtcdLeaderKill,
    NovaLatency,
    NovaErrors,
    NovaTimeouts,
    NovaEvacuateErrors,
}

internal static class FaultKinds
{
    public static readonly IReadOnlyList<FaultKind> All = Enum.GetValues<FaultKind>();

    public static string Name(this FaultKind k) => k switch
    {
        FaultKind.DaemonKill => "kill -9 a daemon (restarted later)",
        FaultKind.DaemonRestart => "graceful restart of a daemon",
        FaultKind.DaemonPartition => "partition a daemon (link down, then up)",
        FaultKind.DaemonEtcdCut => "cut a daemon off etcd only (Nova still reachable)",
        FaultKind.DaemonPause => "pause a daemon (SIGSTOP > lease TTL, SIGCONT)",
        FaultKind.EtcdMemberKill => "kill -9 an etcd follower (restarted)",
        FaultKind.EtcdLeaderKill => "kill -9 the etcd leader (restarted)",
        FaultKind.NovaLatency => "Nova latency spikes",
        FaultKind.NovaErrors => "Nova 5xx (before and after doing the work)",
        FaultKind.NovaTimeouts => "Nova timeouts (no answer, also after evacuating)",
        FaultKind.NovaEvacuateErrors => "evacuations ending in ERROR (and NoValidHost)",
        _ => k.ToString(),
    };

    /// <summary>Faults that take a daemon's lease away (its records are taken over).</summary>
    public static bool LosesLease(this FaultKind k) => k is FaultKind.DaemonKill or FaultKind.DaemonPartition or FaultKind.DaemonEtcdCut or FaultKind.DaemonPause;

    public static bool OnDaemon(this FaultKind k) => k.LosesLease() || k == FaultKind.DaemonRestart;

    public static bool OnNova(this FaultKind k) => k is FaultKind.NovaLatency or FaultKind.NovaErrors or FaultKind.NovaTimeouts or FaultKind.NovaEvacuateErrors;
}

internal abstract record Step;

/// <summary>Fence these hosts (at once): power off in evacsim, report over gRPC until acknowledged.</summary>
internal sealed record FenceStep(IReadOnlyList<string> Hosts, bool Burst) : Step;

internal sealed record WaitStep(TimeSpan Delay) : Step;

/// <summary>Wait until the open Nova fault window has closed.</summary>
internal sealed record JoinNovaStep : Step;

/// <summary>
/// One fault. <see cref="Duration"/>: how long the daemon stays dead, cut off or paused, the
/// etcd member dead, or the Nova fault window open. <see cref="Pick"/>: a seeded choice
/// among candidates (the etcd follower). <see cref="Overlap"/>: a Nova window stays open while
/// the next steps run (a fence made under it; in a soak, at times the next faults too).
/// <see cref="Ms"/>: the latency of a latency window.
/// </summary>
internal sealed record FaultStep(int Index, FaultKind Kind, TimeSpan Duration, int Pick, bool Overlap, int Ms) : Step;

/// <summary>
/// The seeded schedule: one ordered list of steps. Every fault is preceded by a fence (while
/// hosts are left to fence) so that the victim has records in flight; bursts of fences
/// exercise the blast-radius guard. Same seed and options, same plan. Victims are chosen when
/// the fault happens by a fixed rule (the daemon owning most in-flight records; the current
/// etcd leader; the follower named by <see cref="FaultStep.Pick"/>).
/// </summary>
internal sealed record Plan(IReadOnlyList<Step> Steps, int Seed)
{
    public IEnumerable<FaultStep> Faults => Steps.OfType<FaultStep>();

    public IEnumerable<string> FencedHosts => Steps.OfType<FenceStep>().SelectMany(f => f.Hosts);

    public static Plan Create(ChaosOptions o, Timings t, int burstSize)
    {
        var rng = new Random(o.Seed);
        var hosts = Enumerable.Range(1, o.Hosts).Select(i => $"compute-{i.ToString("00", CultureInfo.InvariantCulture)}").ToArray();
        rng.Shuffle(hosts);
        // Keep a quarter of the hosts (at least 8) healthy: somewhere to evacuate to.
        var fenceable = o.Hosts - Math.Max(8, o.Hosts / 4);
        var nextHost = 0;

        var kinds = FaultKinds.All.ToArray();
        rng.Shuffle(kinds);
        var list = kinds.ToList();
        if (o.Mode == ChaosMode.Soak)
        {
            while (list.Count < o.Faults)
            {
                list.Add(FaultKinds.All[rng.Next(FaultKinds.All.Count)]);
            }
        }
        // Bursts: one in the CI run, one every 15 faults in a soak.
        var bursts = o.Mode == ChaosMode.Ci ? new HashSet<int> { 2 + rng.Next(Math.Max(1, list.Count - 4)) }
            : Enumerable.Range(0, list.Count).Where(i => i % 15 == 7).ToHashSet();

        var steps = new List<Step> { new WaitStep(TimeSpan.FromSeconds(2)) };
        for (var i = 0; i < list.Count; i++)
        {
            if (bursts.Contains(i) && nextHost + burstSize <= fenceable)
            {
                steps.Add(new FenceStep(hosts[nextHost..(nextHost + burstSize)], Burst: true));
                nextHost += burstSize;
                steps.Add(new WaitStep(Seconds(rng, 2, 4)));
            }
            var kind = list[i];
            var fence = nextHost < fenceable ? new FenceStep([hosts[nextHost++]], Burst: false) : null;
            if (fence is not null && !kind.OnNova())
            {
                steps.Add(fence);
                steps.Add(new WaitStep(Seconds(rng, 2, 4)));
            }
            var duration = kind switch
            {
                FaultKind.DaemonKill => Seconds(rng, 3, 10),
                FaultKind.DaemonRestart => TimeSpan.Zero,
                FaultKind.DaemonPartition or FaultKind.DaemonEtcdCut => t.LeaseTtl + Seconds(rng, 3, 8),
                // Longer than the lease, shorter than lease + CallSettle: an evacuate call frozen
                // between the lease check and the send still lands where a successor waits for it.
                FaultKind.DaemonPause => t.LeaseTtl + Seconds(rng, 2, 5),
                FaultKind.EtcdMemberKill or FaultKind.EtcdLeaderKill => Seconds(rng, 3, 8),
                _ => Seconds(rng, 8, 15),
            };
            var longer = o.Mode == ChaosMode.Soak && kind.OnNova() && rng.Next(2) == 0;
            steps.Add(new FaultStep(i + 1, kind, duration, rng.Next(1000), kind.OnNova(), 1000 + rng.Next(2001)));
            if (kind.OnNova())
            {
                // The window opens first, then a host is fenced: its evacuations meet the fault.
                steps.Add(new WaitStep(TimeSpan.FromSeconds(1)));
                if (fence is not null)
                {
                    steps.Add(fence);
                }
                if (!longer)
                {
                    steps.Add(new JoinNovaStep());
                }
            }
            steps.Add(new WaitStep(Seconds(rng, 2, 5)));
        }
        return new Plan(steps, o.Seed);
    }

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"plan (seed {Seed}): {Faults.Count()} faults, {FencedHosts.Count()} hosts fenced\n");
        foreach (var s in Steps)
        {
            sb.Append("  ").Append(s switch
            {
                FenceStep f => $"fence {string.Join(", ", f.Hosts)}{(f.Burst ? " (burst)" : "")}",
                WaitStep w => $"wait {w.Delay.TotalSeconds:0.#} s",
                JoinNovaStep => "wait for the Nova fault window to close",
                FaultStep f => $"fault {f.Index}: {f.Kind.Name()}, {f.Duration.TotalSeconds:0.#} s{(f.Kind == FaultKind.NovaLatency ? $", {f.Ms} ms" : "")}",
                _ => s.ToString(),
            }).Append('\n');
        }
        return sb.ToString();
    }

    private static TimeSpan Seconds(Random rng, int min, int max) => TimeSpan.FromMilliseconds(rng.Next(min * 1000, max * 1000 + 1));
}

/// <summary>The daemons' timings for this run (written into their configuration).</summary>
internal sealed record Timings
{
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(6);
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(1.5);
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan EvacuateTimeout { get; init; } = TimeSpan.FromSeconds(8);
    public TimeSpan CallSettle { get; init; } = TimeSpan.FromSeconds(12);
    public TimeSpan RebuildTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int MaxHostsInWindow { get; init; } = 4;
    public TimeSpan BlastWindow { get; init; } = TimeSpan.FromSeconds(30);
    public double MaxSharePercent { get; init; } = 50;
}
