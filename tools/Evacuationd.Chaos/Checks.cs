using System.Globalization;
using Evacuationd.Core.Records;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Chaos;

/// <summary>One line of the verdict.</summary>
internal sealed record CheckResult(string Name, bool Passed, string Summary, IReadOnlyList<string> Problems);

/// <summary>Everything the checks look at, gathered once the run drained.</summary>
internal sealed record RunFacts(
    ChaosOptions Options,
    Timings Timings,
    Plan Plan,
    IReadOnlyList<Revision> History,
    IReadOnlyCollection<FenceAck> Acks,
    IReadOnlyCollection<FenceFailure> FenceFailures,
    IReadOnlyCollection<Confirmation> Confirmations,
    IReadOnlyList<FaultEvent> Faults,
    SimStats Stats,
    IReadOnlyList<EvacuateCallRecord> Calls,
    IReadOnlyList<MigrationSnapshot> Migrations,
    IReadOnlyList<SimInstance> Instances,
    bool Drained,
    TimeSpan Duration);

/// <summary>What the replay of etcd's history found about one lease-taking fault.</summary>
internal sealed record LeaseLoss(FaultEvent Fault, long LostAtRevision, DateTimeOffset? LostSeen, TimeSpan? Takeover, int WritesAfterLoss);

/// <summary>
/// The invariants, checked from what evacsim saw (every evacuate call, every migration, where
/// every instance is) and from etcd's full history (every revision of every key, replayed):
/// S1, S2, S3, S4, S5, S6 of PRODUCT.md, and that every kind of fault was really injected.
/// </summary>
internal sealed class Checks
{
    private static readonly string[] MigrationDone = ["done", "completed"];
    private readonly RunFacts _f;
    private readonly Dictionary<string, KeyState> _final = new(StringComparer.Ordinal);
    private readonly List<string> _s3Owner = [];
    private readonly List<string> _s3Attribution = [];
    private readonly List<string> _s6 = [];
    private readonly List<string> _s1Store = [];
    /// <summary>The last-owner lease each instance put carried, by (revision, key).</summary>
    private readonly Dictionary<(long, string), long> _valueLease = [];
    private int _ownedWrites;
    private int _unownedHostWrites;
    private int _claims;
    private int _fenceCommits;
    private int _heldCommits;

    public Checks(RunFacts facts)
    {
        _f = facts;
        Replay();
        Hosts = _final.Where(kv => kv.Key.StartsWith(Keys.Hosts, StringComparison.Ordinal)).Select(kv => Keys.Host(kv.Value.Value)).ToDictionary(h => h.Name, StringComparer.Ordinal);
        Records = _final.Where(kv => kv.Key.StartsWith(Keys.Instances, StringComparison.Ordinal)).Select(kv => Keys.Instance(kv.Value.Value)).ToList();
        LeaseLosses = _f.Faults.Where(e => e.Kind.OnDaemon() && e.LeaseAtStart != 0).Select(Loss).ToList();
    }

    /// <summary>Every host record at the end.</summary>
    public IReadOnlyDictionary<string, HostRecord> Hosts { get; }

    /// <summary>Every instance record at the end.</summary>
    public IReadOnlyList<InstanceRecord> Records { get; }

    /// <summary>For each daemon fault: when its lease went, who took over, what it wrote after.</summary>
    public IReadOnlyList<LeaseLoss> LeaseLosses { get; }

    /// <summary>Fencings held by the blast-radius guard (commits of a held host record).</summary>
    public int HeldCommits => _heldCommits;

    public IReadOnlyList<CheckResult> All()
    {
        var results = new List<CheckResult>
        {
            S2Acknowledged(),
            S5Terminal(),
            S5Outcome(),
            S4Duplicates(),
            S4OnePerAttempt(),
            S1Calls(),
            S3Owner(),
            S3AfterLoss(),
            S6Guard(),
        };
        foreach (var kind in FaultKinds.All)
        {
            results.Add(Injected(kind));
        }
        return results;
    }

    /// <summary>The kind took effect at least once: done by the harness and seen (a lease-taking fault: the lease really expired).</summary>
    public bool Effective(FaultEvent e) => e.Applied && (!e.Kind.LosesLease() || e.Kind == FaultKind.DaemonKill || LeaseLosses.Any(l => l.Fault == e && l.LostAtRevision > 0));

    private CheckResult Injected(FaultKind kind)
    {
        var events = _f.Faults.Where(e => e.Kind == kind).ToList();
        var effective = events.Count(Effective);
        return new CheckResult($"fault injected: {kind.Name()}", effective > 0,
            $"{effective} of {events.Count} took effect",
            effective > 0 ? [] : events.Select(e => $"fault {e.Step.Index} on {e.Target}: applied {e.Applied}; {e.Note}").DefaultIfEmpty("not in the plan").ToList());
    }

    private CheckResult S2Acknowledged()
    {
        var problems = _f.FenceFailures.Select(x => $"fence of {x.Host} never acknowledged ({x.Attempts} attempts): {x.Error}").ToList();
        foreach (var a in _f.Acks)
        {
            if (!Hosts.TryGetValue(a.Host, out var h))
            {
                problems.Add($"{a.Host}: acknowledged ({a.EvacuationId} by {a.Daemon}) but no host record in etcd");
            }
            else if (h.FenceGeneration != a.Generation)
            {
                problems.Add($"{a.Host}: acknowledged generation {a.Generation}, etcd has {h.FenceGeneration}");
            }
        }
        var planned = _f.Plan.FencedHosts.Count();
        return new CheckResult("S2 every acknowledged fence has its host record", problems.Count == 0,
            $"{_f.Acks.Count} of {planned} fences acknowledged ({_f.Acks.Sum(a => a.Attempts - 1)} retried calls), each with its host record", problems);
    }

    private CheckResult S5Terminal()
    {
        var problems = new List<string>();
        foreach (var a in _f.Acks)
        {
            if (Hosts.TryGetValue(a.Host, out var h) && !h.IsTerminal)
            {
                problems.Add($"host {a.Host} still {h.State.Name()}: {h.Reason}");
            }
        }
        foreach (var r in Records.Where(r => !r.IsTerminal))
        {
            problems.Add($"record {r.Id} still {r.State.Name()} (attempt {r.Attempt}, owner {r.LastOwner}): {r.Reason}");
        }
        return new CheckResult("S5 every record reached a terminal state", problems.Count == 0 && _f.Drained,
            $"{Records.Count} instance records, {Records.Count(r => r.IsTerminal)} terminal; drained within {_f.Options.DrainTimeout.TotalMinutes:0} min: {_f.Drained}",
            problems);
    }

    private CheckResult S5Outcome()
    {
        var problems = new List<string>();
        var fenced = _f.Acks.ToDictionary(a => a.Host, StringComparer.Ordinal);
        var migrations = _f.Migrations.ToLookup(m => (m.InstanceUuid, m.SourceCompute));
        var byKey = Records.ToDictionary(r => (r.SourceHost, r.FenceGeneration, r.InstanceUuid));
        var hostFailures = 0;
        var expected = 0;
        foreach (var a in _f.Acks)
        {
            if (!Hosts.TryGetValue(a.Host, out var h))
            {
                continue; // S2's problem
            }
            if (h.State == HostState.Failed && !h.Planned)
            {
                hostFailures++;
                if (string.IsNullOrWhiteSpace(h.Reason))
                {
                    problems.Add($"host {a.Host} failed before planning without a reason");
                }
                continue;
            }
            foreach (var uuid in a.InstancesAtFence)
            {
                expected++;
                if (!byKey.TryGetValue((a.Host, h.FenceGeneration, uuid), out var r))
                {
                    problems.Add($"{a.Host}: instance {uuid} has no record in fencing {h.EvacuationId}");
                    continue;
                }
                if (r.State is RecordState.Failed or RecordState.Skipped or RecordState.Cancelled && string.IsNullOrWhiteSpace(r.Reason))
                {
                    problems.Add($"record {r.Id} ended {r.State.Name()} without a reason");
                }
                if (r.State == RecordState.Done && !migrations[(uuid, a.Host)].Any(m => MigrationDone.Contains(m.Status) && m.DestCompute != a.Host))
                {
                    problems.Add($"record {r.Id} is done but Nova has no finished evacuation of {uuid} from {a.Host}");
                }
            }
        }
        // Where each instance that sat on a fenced host is now.
        var instances = _f.Instances.ToDictionary(i => i.Uuid, StringComparer.Ordinal);
        var active = 0;
        var failed = 0;
        var distinct = _f.Acks.SelectMany(a => a.InstancesAtFence).Distinct(StringComparer.Ordinal).ToList();
        foreach (var uuid in distinct)
        {
            if (!instances.TryGetValue(uuid, out var i))
            {
                problems.Add($"instance {uuid} is gone from Nova");
                continue;
            }
            if (i.Host is null || !fenced.ContainsKey(i.Host))
            {
                if (i.VmState == "active" && i.TaskState is null)
                {
                    active++;
                }
                else
                {
                    problems.Add($"instance {uuid} is on healthy host {i.Host} but {i.VmState}/{i.TaskState ?? "-"}");
                }
                continue;
            }
            // Still on a fenced host: that fencing's record must say why.
            if (!Hosts.TryGetValue(i.Host, out var h))
            {
                continue;
            }
            if (h.State == HostState.Failed && !h.Planned)
            {
                failed++;
                continue;
            }
            if (byKey.TryGetValue((i.Host, h.FenceGeneration, uuid), out var r) && r.State is RecordState.Failed or RecordState.Skipped or RecordState.Cancelled && r.Reason.Length > 0)
            {
                failed++;
            }
            else
            {
                problems.Add($"instance {uuid} is still on fenced host {i.Host} ({i.VmState}/{i.TaskState ?? "-"}) and its record is {(r is null ? "missing" : $"{r.State.Name()}: {r.Reason}")}");
            }
        }
        return new CheckResult("S5 every instance of a fenced host is active on a healthy host or failed with a reason", problems.Count == 0,
            $"{expected} instance records for {distinct.Count} distinct instances (some were on two fenced hosts in turn): {active} active on healthy hosts, {failed} left behind with a reason ({hostFailures} fencings failed whole)", problems);
    }

    private CheckResult S4Duplicates()
    {
        var dup = _f.Calls.Where(c => c.Duplicate).Select(c => $"evacuate of {c.InstanceUuid} from {c.SourceHost} at {c.At:HH:mm:ss.fff} while its previous evacuation ran (request {c.RequestId})").ToList();
        return new CheckResult("S4 no evacuate call while a previous one was in flight", _f.Stats.DuplicateEvacuations == 0 && dup.Count == 0,
            $"evacsim counted {_f.Stats.DuplicateEvacuations} duplicate evacuations", dup);
    }

    private CheckResult S4OnePerAttempt()
    {
        var problems = new List<string>();
        var records = Records.GroupBy(r => (r.SourceHost, r.InstanceUuid)).ToDictionary(g => g.Key, g => g.MaxBy(r => r.FenceGeneration)!);
        var accepted = _f.Calls.Where(c => c.StatusCode == 200).GroupBy(c => (c.SourceHost ?? "", c.InstanceUuid));
        var calls = 0;
        foreach (var g in accepted)
        {
            calls += g.Count();
            if (!records.TryGetValue(g.Key, out var r))
            {
                continue; // S1's problem
            }
            if (g.Count() > r.Attempt)
            {
                problems.Add($"{r.Id}: {g.Count()} evacuate calls accepted for {r.Attempt} attempt(s)");
            }
        }
        foreach (var g in _f.Migrations.Where(m => MigrationDone.Contains(m.Status)).GroupBy(m => (m.InstanceUuid, m.SourceCompute)))
        {
            if (g.Count() > 1)
            {
                problems.Add($"instance {g.Key.InstanceUuid} was evacuated from {g.Key.SourceCompute} {g.Count()} times (migrations {string.Join(", ", g.Select(m => m.Id))})");
            }
        }
        return new CheckResult("S4 at most one evacuate per attempt, no instance evacuated twice per fencing", problems.Count == 0,
            $"{calls} accepted evacuate calls for {Records.Sum(r => r.Attempt)} attempts of {Records.Count} records", problems);
    }

    private CheckResult S1Calls()
    {
        var problems = new List<string>(_s1Store);
        var fenced = _f.Acks.Select(a => a.Host).ToHashSet(StringComparer.Ordinal);
        var records = Records.GroupBy(r => (r.SourceHost, r.InstanceUuid)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var c in _f.Calls)
        {
            var what = $"evacuate of {c.InstanceUuid} from {c.SourceHost ?? "(unknown host)"} at {c.At:HH:mm:ss.fff} ({c.StatusCode})";
            if (c.SourceHost is null || !fenced.Contains(c.SourceHost))
            {
                problems.Add($"{what}: the host was never fenced");
                continue;
            }
            if (!c.SourceForcedDown)
            {
                problems.Add($"{what}: the host's service was not forced down");
            }
            if (!records.TryGetValue((c.SourceHost, c.InstanceUuid), out var rs) || !rs.Any(r => r.CreatedAt <= c.At))
            {
                problems.Add($"{what}: no record of that fencing existed before the call");
            }
        }
        return new CheckResult("S1 evacuations only for fenced, forced-down hosts, after their records", problems.Count == 0,
            $"{_f.Calls.Count} evacuate calls checked (evacsim: {_f.Stats.EvacuateCallsWithoutForcedDown} accepted without forced-down)", problems);
    }

    private CheckResult S3Owner()
    {
        var problems = _s3Owner.Concat(_s3Attribution).ToList();
        return new CheckResult("S3 every record write was made by its owner under its live lease", problems.Count == 0,
            $"{_f.History.Count} revisions replayed: {_ownedWrites} owned writes, {_claims} claims, {_unownedHostWrites} unowned host writes (fence intake, confirmations)", problems);
    }

    private CheckResult S3AfterLoss()
    {
        var problems = LeaseLosses.Where(l => l.WritesAfterLoss > 0)
            .Select(l => $"fault {l.Fault.Step.Index} ({l.Fault.Kind.Name()}) on {l.Fault.Target}: {l.WritesAfterLoss} writes under lease {l.Fault.LeaseAtStart:x} after it ended at revision {l.LostAtRevision}").ToList();
        var lost = LeaseLosses.Count(l => l.LostAtRevision > 0);
        return new CheckResult("S3 no write under a lease after it was lost (killed, partitioned, cut off, paused)", problems.Count == 0,
            $"{lost} lost leases followed to the end of the run", problems);
    }

    private CheckResult S6Guard()
    {
        var problems = new List<string>(_s6);
        if (_f.Plan.Steps.OfType<FenceStep>().Any(s => s.Burst) && _heldCommits == 0)
        {
            problems.Add("the plan fenced a burst of hosts but the guard never held one");
        }
        return new CheckResult("S6 the blast-radius guard held exactly the fencings past its threshold", problems.Count == 0,
            $"{_fenceCommits} fence commits, {_heldCommits} held (more than {_f.Timings.MaxHostsInWindow} hosts within {_f.Timings.BlastWindow.TotalSeconds:0} s), {_f.Confirmations.Count} confirmed by the operator", problems);
    }

    /// <summary>Where the victim's lease ended, how soon another owner took its records, and what it wrote after.</summary>
    private LeaseLoss Loss(FaultEvent e)
    {
        var lease = e.LeaseAtStart;
        var state = new Dictionary<string, long>(StringComparer.Ordinal); // key -> lease, replayed
        long lostAt = 0;
        DateTimeOffset? lostSeen = null;
        TimeSpan? takeover = null;
        var after = 0;
        var owned = e.OwnedAtStart.Select(id => Keys.InstanceOwners + id).ToHashSet(StringComparer.Ordinal);
        foreach (var rev in _f.History)
        {
            if (rev.Number > e.RevisionAtStart)
            {
                // The lease ended when keys bound to it were deleted with nothing of it left (expiry or revoke).
                if (lostAt == 0 && rev.Changes.Any(c => !c.Put && state.GetValueOrDefault(c.Key) == lease)
                    && !state.Where(kv => kv.Value == lease).Select(kv => kv.Key).Except(rev.Changes.Where(c => !c.Put).Select(c => c.Key)).Any())
                {
                    lostAt = rev.Number;
                    lostSeen = rev.Seen;
                }
                if (takeover is null && rev.Changes.Any(c => c.Put && owned.Contains(c.Key) && c.Lease != lease))
                {
                    takeover = rev.Seen - e.Start;
                }
                if (lostAt != 0 && rev.Number > lostAt && rev.Changes.Any(c => c.Put && (c.Lease == lease || WrittenUnder(c, state, lease)
                        || (_valueLease.TryGetValue((rev.Number, c.Key), out var carried) && carried == lease))))
                {
                    after++;
                }
            }
            foreach (var c in rev.Changes)
            {
                if (c.Put)
                {
                    state[c.Key] = c.Lease;
                }
                else
                {
                    state.Remove(c.Key);
                }
            }
        }
        return new LeaseLoss(e, lostAt, lostSeen, takeover, after);
    }

    /// <summary>A record put whose owner key (before it) was bound to <paramref name="lease"/>.</summary>
    private static bool WrittenUnder(Mutation c, Dictionary<string, long> state, long lease) =>
        Keys.OwnerOf(c.Key) is { } owner && state.TryGetValue(owner, out var l) && l == lease;

    /// <summary>
    /// Replays every revision: each record write must name an owner that held the record (its
    /// owner key, value and lease) under the lease the owner is registered with at that revision;
    /// the write's own history entries and owner fields must name that owner; claims only take
    /// free records; instance records are created only by the host's owner, for a host that is
    /// not held; every fence commit is held exactly when the guard's rule says.
    /// </summary>
    private void Replay()
    {
        var state = _final;
        foreach (var rev in _f.History)
        {
            var byKey = rev.Changes.GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
            foreach (var c in rev.Changes)
            {
                if (c.Key.StartsWith(Keys.Instances, StringComparison.Ordinal) || c.Key.StartsWith(Keys.Hosts, StringComparison.Ordinal))
                {
                    RecordWrite(rev, c, state, byKey);
                }
                else if ((c.Key.StartsWith(Keys.InstanceOwners, StringComparison.Ordinal) || c.Key.StartsWith(Keys.HostOwners, StringComparison.Ordinal)) && c.Put)
                {
                    if (state.TryGetValue(c.Key, out var before))
                    {
                        _s3Owner.Add($"rev {rev.Number}: {c.Key} taken by {Keys.Text(c.Value)} (lease {c.Lease:x}) while {Keys.Text(before.Value)} (lease {before.Lease:x}) owned it");
                    }
                    Registered(rev, Keys.Text(c.Value), c.Lease, state, $"claim of {c.Key}");
                }
            }
            FenceCommit(rev, state, byKey);
            foreach (var c in rev.Changes)
            {
                if (c.Put)
                {
                    state[c.Key] = new KeyState(c.Value, c.Lease, rev.Number);
                }
                else
                {
                    state.Remove(c.Key);
                }
            }
        }
    }

    private void RecordWrite(Revision rev, Mutation c, Dictionary<string, KeyState> state, Dictionary<string, Mutation> byKey)
    {
        var ownerKey = Keys.OwnerOf(c.Key)!;
        var instance = c.Key.StartsWith(Keys.Instances, StringComparison.Ordinal);
        state.TryGetValue(ownerKey, out var ownerBefore);
        byKey.TryGetValue(ownerKey, out var ownerNow);
        state.TryGetValue(c.Key, out var before);
        if (!c.Put)
        {
            if (ownerBefore is not null)
            {
                _s3Owner.Add($"rev {rev.Number}: {c.Key} deleted while owned by {Keys.Text(ownerBefore.Value)}");
            }
            return;
        }
        if (instance)
        {
            _valueLease[(rev.Number, c.Key)] = Keys.Instance(c.Value).LastOwnerLease;
        }
        if (instance && before is null)
        {
            InstanceCreated(rev, c, state);
            return;
        }
        string daemon;
        long lease;
        if (ownerNow is { Put: true })
        {
            _claims++;
            (daemon, lease) = (Keys.Text(ownerNow.Value), ownerNow.Lease);
            if (instance)
            {
                var r = Keys.Instance(c.Value);
                if (r.LastOwner != daemon || r.LastOwnerLease != lease)
                {
                    _s3Attribution.Add($"rev {rev.Number}: claim of {r.Id} by {daemon} (lease {lease:x}) wrote last owner {r.LastOwner} (lease {r.LastOwnerLease:x})");
                }
            }
        }
        else if (ownerBefore is not null)
        {
            (daemon, lease) = (Keys.Text(ownerBefore.Value), ownerBefore.Lease);
        }
        else
        {
            if (instance)
            {
                _s3Owner.Add($"rev {rev.Number}: {c.Key} written with no owner");
            }
            else
            {
                _unownedHostWrites++;
            }
            return;
        }
        _ownedWrites++;
        Registered(rev, daemon, lease, state, $"write of {c.Key}");
        IReadOnlyList<Transition> oldHistory, newHistory;
        if (instance)
        {
            var r = Keys.Instance(c.Value);
            newHistory = r.History;
            oldHistory = before is null ? [] : Keys.Instance(before.Value).History;
            if (ownerNow is null && r.LastOwnerLease != lease)
            {
                _s3Attribution.Add($"rev {rev.Number}: {r.Id} written by the owner {daemon} (lease {lease:x}) carries the value of lease {r.LastOwnerLease:x}");
            }
        }
        else
        {
            newHistory = Keys.Host(c.Value).History;
            oldHistory = before is null ? [] : Keys.Host(before.Value).History;
        }
        foreach (var t in Added(oldHistory, newHistory).Where(t => t.Daemon != daemon))
        {
            _s3Attribution.Add($"rev {rev.Number}: {c.Key} owned by {daemon} got a history entry by {t.Daemon}: {t.From} -> {t.To}");
        }
    }

    private void InstanceCreated(Revision rev, Mutation c, Dictionary<string, KeyState> state)
    {
        var r = Keys.Instance(c.Value);
        var hostOwner = Keys.HostOwners + r.SourceHost;
        if (!state.TryGetValue(hostOwner, out var owner))
        {
            _s3Owner.Add($"rev {rev.Number}: record {r.Id} created while nobody owned host {r.SourceHost}");
            return;
        }
        _ownedWrites++;
        var daemon = Keys.Text(owner.Value);
        Registered(rev, daemon, owner.Lease, state, $"creation of {r.Id}");
        if (r.History.FirstOrDefault() is { } first && first.Daemon != daemon)
        {
            _s3Attribution.Add($"rev {rev.Number}: record {r.Id} created under {daemon}'s ownership of {r.SourceHost} names {first.Daemon}");
        }
        if (!_f.Acks.Any(a => a.Host == r.SourceHost))
        {
            _s1Store.Add($"rev {rev.Number}: record {r.Id} created for {r.SourceHost}, which was never fenced");
        }
        if (state.TryGetValue(Keys.Hosts + r.SourceHost, out var hostBefore) && Keys.Host(hostBefore.Value) is { State: HostState.Held } held)
        {
            _s6.Add($"rev {rev.Number}: record {r.Id} created while {held.EvacuationId} was held");
        }
    }

    /// <summary>The owner must be the daemon registered (its daemon key) under that lease at this revision.</summary>
    private void Registered(Revision rev, string daemon, long lease, Dictionary<string, KeyState> state, string what)
    {
        if (!state.TryGetValue(Keys.Daemons + daemon, out var registration) || registration.Lease != lease)
        {
            _s3Owner.Add($"rev {rev.Number}: {what} under {daemon}'s lease {lease:x}, but {daemon} is {(registration is null ? "not registered" : $"registered under lease {registration.Lease:x}")}");
        }
    }

    /// <summary>A fence commit (host record and control record in one revision, nobody owning the host): held exactly when the rule says.</summary>
    private void FenceCommit(Revision rev, Dictionary<string, KeyState> state, Dictionary<string, Mutation> byKey)
    {
        if (!byKey.TryGetValue(Keys.Control, out var control) || !control.Put)
        {
            return;
        }
        foreach (var c in rev.Changes.Where(c => c.Put && c.Key.StartsWith(Keys.Hosts, StringComparison.Ordinal)))
        {
            var host = Keys.Host(c.Value);
            var window = Keys.ControlState(control.Value);
            _fenceCommits++;
            var count = window.Recent.Count;
            var hosts = _f.Options.Hosts;
            var expected = window.Held || count > _f.Timings.MaxHostsInWindow || (count > 1 && count * 100.0 / hosts > _f.Timings.MaxSharePercent);
            var held = host.State == HostState.Held;
            if (held)
            {
                _heldCommits++;
            }
            if (held != expected)
            {
                _s6.Add($"rev {rev.Number}: {host.EvacuationId} committed {(held ? "held" : "not held")} with {count} fencings in the window (limit {_f.Timings.MaxHostsInWindow}, global hold {window.Held})");
            }
            if (state.ContainsKey(Keys.HostOwners + host.Name))
            {
                _s3Owner.Add($"rev {rev.Number}: fence commit of {host.Name} while a daemon owned it");
            }
        }
    }

    /// <summary>The history entries <paramref name="now"/> has beyond <paramref name="before"/> (the bounded history drops old entries, never the last).</summary>
    private static IEnumerable<Transition> Added(IReadOnlyList<Transition> before, IReadOnlyList<Transition> now)
    {
        if (before.Count == 0)
        {
            return now;
        }
        var last = before[^1];
        var added = new List<Transition>();
        for (var i = now.Count - 1; i >= 0 && now[i] != last; i--)
        {
            added.Add(now[i]);
        }
        return added.Count == now.Count ? [] : added; // the previous last entry not found: nothing can be told
    }

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
}
