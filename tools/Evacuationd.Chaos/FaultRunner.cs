using System.Text.Json.Nodes;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Chaos;

/// <summary>What happened when one fault of the plan was applied.</summary>
internal sealed class FaultEvent(FaultStep step)
{
    public FaultStep Step { get; } = step;
    public FaultKind Kind => Step.Kind;
    public string Target { get; set; } = "";
    public DateTimeOffset Start { get; set; }
    public DateTimeOffset End { get; set; }
    /// <summary>The last etcd revision the harness had seen when the fault began.</summary>
    public long RevisionAtStart { get; set; }
    /// <summary>Daemon faults: the victim's lease when the fault began.</summary>
    public long LeaseAtStart { get; set; }
    /// <summary>Daemon faults: the instance records the victim owned (under that lease) when the fault began.</summary>
    public IReadOnlyList<string> OwnedAtStart { get; set; } = [];
    /// <summary>The harness did it and saw it take effect (process gone or stopped, link down, member gone, evacsim counted the fault).</summary>
    public bool Applied { get; set; }
    public string Note { get; set; } = "";
}

/// <summary>Applies the faults of the plan, one at a time, and puts things back after each.</summary>
internal sealed class FaultRunner(
    Topology topology,
    IReadOnlyList<Daemon> daemons,
    EtcdCluster etcd,
    SimCloud sim,
    StoreRecorder store,
    DaemonApi api,
    ChaosOptions options,
    TimeProvider time,
    Action<string> say)
{
    private readonly List<FaultEvent> _events = [];
    private readonly List<Task> _background = [];
    private Task _novaWindow = Task.CompletedTask;

    public IReadOnlyList<FaultEvent> Events => _events;

    /// <summary>Waits for overlapping Nova windows to close and their counts to be read.</summary>
    public Task DrainAsync() => Task.WhenAll(_background);

    /// <summary>Waits until the Nova window opened last has closed and its counts were read.</summary>
    public Task JoinNovaAsync() => _novaWindow;

    public async Task RunAsync(FaultStep step, CancellationToken ct)
    {
        var ev = new FaultEvent(step);
        _events.Add(ev);
        if (step.Kind.OnNova())
        {
            await _novaWindow; // one fault set in evacsim at a time
            var window = NovaWindowAsync(ev, ct);
            _background.Add(window);
            _novaWindow = window;
            if (!step.Overlap)
            {
                await window;
            }
            return;
        }
        try
        {
            if (step.Kind.OnDaemon())
            {
                await DaemonFaultAsync(ev, ct);
            }
            else
            {
                await EtcdFaultAsync(ev, ct);
            }
        }
        finally
        {
            ev.End = time.GetUtcNow();
        }
        say($"fault {step.Index} done: {step.Kind.Name()} on {ev.Target}{(ev.Applied ? "" : " (NOT APPLIED)")} {ev.Note}");
        await RestoreAsync(ct);
    }

    /// <summary>Everything back: links up, routes gone, processes continued and running, etcd members running, daemons ready.</summary>
    public async Task RestoreAsync(CancellationToken ct)
    {
        foreach (var d in daemons)
        {
            if (d.Process is { HasExited: false } p && Posix.State(p.Pid) == 'T')
            {
                p.Signal(Posix.SigCont);
            }
            if (!d.Running)
            {
                d.Start();
            }
        }
        await etcd.EnsureAllRunningAsync(ct);
        foreach (var d in daemons)
        {
            await d.WaitReadyAsync(api, TimeSpan.FromSeconds(120));
        }
    }

    private async Task DaemonFaultAsync(FaultEvent ev, CancellationToken ct)
    {
        var victim = await BusiestAsync(ct);
        var id = victim.Id;
        ev.Target = id;
        ev.LeaseAtStart = store.Get(Keys.Daemons + id)?.Lease ?? 0;
        ev.OwnedAtStart = store.Under(Keys.InstanceOwners)
            .Where(o => Keys.Text(o.State.Value) == id && o.State.Lease == ev.LeaseAtStart)
            .Select(o => o.Key[Keys.InstanceOwners.Length..]).ToList();
        ev.RevisionAtStart = store.Applied;
        ev.Start = time.GetUtcNow();
        var p = victim.Process!;
        switch (ev.Kind)
        {
            case FaultKind.DaemonKill:
                p.Signal(Posix.SigKill);
                ev.Applied = await p.WaitForExitAsync(TimeSpan.FromSeconds(20));
                ev.Note = $"owned {ev.OwnedAtStart.Count} records; restarted after {ev.Step.Duration.TotalSeconds:0.#} s";
                await Task.Delay(ev.Step.Duration, ct);
                victim.Start();
                break;
            case FaultKind.DaemonRestart:
                var graceful = await p.StopAsync(TimeSpan.FromSeconds(40));
                ev.Applied = graceful && p.ExitCode == 0;
                ev.Note = $"owned {ev.OwnedAtStart.Count} records; stopped {(graceful ? "gracefully" : "by SIGKILL after 40 s")} (exit {p.ExitCode})";
                victim.Start();
                break;
            case FaultKind.DaemonPartition:
                await topology.PartitionAsync(victim.N);
                ev.Applied = true;
                ev.Note = $"owned {ev.OwnedAtStart.Count} records; link down for {ev.Step.Duration.TotalSeconds:0.#} s";
                await Task.Delay(ev.Step.Duration, ct);
                await topology.HealAsync(victim.N);
                break;
            case FaultKind.DaemonEtcdCut:
                await topology.CutEtcdAsync(victim.N);
                ev.Applied = true;
                ev.Note = $"owned {ev.OwnedAtStart.Count} records; etcd unreachable for {ev.Step.Duration.TotalSeconds:0.#} s";
                await Task.Delay(ev.Step.Duration, ct);
                await topology.RestoreEtcdAsync(victim.N);
                break;
            case FaultKind.DaemonPause:
                p.Signal(Posix.SigStop);
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
                ev.Applied = Posix.State(p.Pid) == 'T';
                ev.Note = $"owned {ev.OwnedAtStart.Count} records; stopped for {ev.Step.Duration.TotalSeconds:0.#} s";
                await Task.Delay(ev.Step.Duration, ct);
                p.Signal(Posix.SigCont);
                break;
        }
    }

    /// <summary>The running daemon owning most instance records (lowest number on a tie), after waiting up to 15 s for one to own any.</summary>
    private async Task<Daemon> BusiestAsync(CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var owners = store.Under(Keys.InstanceOwners).GroupBy(o => Keys.Text(o.State.Value)).ToDictionary(g => g.Key, g => g.Count());
            var best = daemons.Where(d => d.Running).OrderByDescending(d => owners.GetValueOrDefault(d.Id)).ThenBy(d => d.N).First();
            if (owners.GetValueOrDefault(best.Id) > 0 || DateTime.UtcNow > until)
            {
                return best;
            }
            await Task.Delay(250, ct);
        }
    }

    private async Task EtcdFaultAsync(FaultEvent ev, CancellationToken ct)
    {
        var leader = await etcd.WaitForLeaderAsync(TimeSpan.FromSeconds(60), cancellationToken: ct);
        EtcdMember victim;
        if (ev.Kind == FaultKind.EtcdLeaderKill)
        {
            victim = leader;
        }
        else
        {
            var followers = etcd.Members.Where(m => m != leader && m.IsRunning).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
            victim = followers[ev.Step.Pick % followers.Count];
        }
        ev.Target = victim.Name + (victim == leader ? " (leader)" : " (follower)");
        ev.RevisionAtStart = store.Applied;
        ev.Start = time.GetUtcNow();
        victim.Kill();
        ev.Applied = !victim.IsRunning;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var next = await etcd.WaitForLeaderAsync(TimeSpan.FromSeconds(60), excluding: victim, cancellationToken: ct);
        ev.Note = $"new leader {next.Name} after {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s; restarted after {ev.Step.Duration.TotalSeconds:0.#} s";
        if (ev.Kind == FaultKind.EtcdLeaderKill && next == victim)
        {
            ev.Applied = false;
        }
        await Task.Delay(ev.Step.Duration, ct);
        await victim.RestartAsync(waitForLeader: true, ct);
    }

    /// <summary>Opens a Nova fault window in evacsim, closes it, and reads what evacsim injected in it.</summary>
    private async Task NovaWindowAsync(FaultEvent ev, CancellationToken ct)
    {
        var (faults, counted) = NovaFaults(ev.Step);
        var before = (await sim.StatsAsync()).FaultsInjected;
        ev.Target = "evacsim";
        ev.Start = time.GetUtcNow();
        await sim.SetFaultsAsync(faults, unchecked(options.Seed * 31 + ev.Step.Index));
        await Task.Delay(ev.Step.Duration, ct);
        await sim.ClearFaultsAsync();
        ev.End = time.GetUtcNow();
        // An evacuation that fails is counted when its rebuild ends, after the window.
        await Task.Delay(TimeSpan.FromMilliseconds(options.RebuildMs + 2000), ct);
        var after = (await sim.StatsAsync()).FaultsInjected;
        var injected = counted.ToDictionary(k => k, k => after.GetValueOrDefault(k) - before.GetValueOrDefault(k));
        ev.Applied = injected.Values.Sum() > 0;
        ev.Note = string.Join(", ", injected.Select(kv => $"{kv.Key} x{kv.Value}"));
        say($"fault {ev.Step.Index} done: {ev.Kind.Name()} for {ev.Step.Duration.TotalSeconds:0.#} s: {ev.Note}");
    }

    private static (JsonArray Faults, string[] Counted) NovaFaults(FaultStep s) => s.Kind switch
    {
        FaultKind.NovaLatency => ([new JsonObject { ["kind"] = "latency", ["p"] = 0.5, ["ms"] = s.Ms }], ["latency"]),
        FaultKind.NovaErrors => ([
            new JsonObject { ["kind"] = "5xx", ["p"] = 0.2, ["code"] = 503 },
            new JsonObject { ["kind"] = "5xx-after", ["p"] = 0.25, ["path"] = "/action" },
        ], ["5xx", "5xx-after"]),
        FaultKind.NovaTimeouts => ([
            new JsonObject { ["kind"] = "timeout", ["p"] = 0.1 },
            new JsonObject { ["kind"] = "timeout", ["p"] = 0.25, ["path"] = "/action", ["after"] = true },
        ], ["timeout"]),
        FaultKind.NovaEvacuateErrors => ([
            new JsonObject { ["kind"] = "evacuate-error", ["p"] = 0.4 },
            new JsonObject { ["kind"] = "novalidhost", ["p"] = 0.15 },
        ], ["evacuate-error", "novalidhost"]),
        _ => throw new ArgumentOutOfRangeException(nameof(s), $"{s.Kind} is not a Nova fault"),
    };
}
