using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Engine;

/// <summary>
/// One daemon's cached view of the store, built from a snapshot and kept current by the
/// watch (an informer). It only chooses what to try to claim; every decision that matters
/// is re-checked by the store's guarded transactions, so a stale view costs a lost claim,
/// never a wrong write.
/// </summary>
internal sealed class StoreView
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Versioned<HostRecord>> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Versioned<InstanceRecord>> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<RecordKey, string> _owners = new();
    /// <summary>Unowned records with work left (non-terminal instances, planning or evacuating hosts), and since when.</summary>
    private readonly Dictionary<RecordKey, DateTimeOffset> _unownedSince = new();
    /// <summary>Per fencing (host, generation): records known, and records not terminal yet.</summary>
    private readonly Dictionary<(string Host, long Generation), int[]> _fencings = new();
    /// <summary>The latest UpdatedAt of any record of each fencing seen (deletions do not lower it).</summary>
    private readonly Dictionary<(string Host, long Generation), DateTimeOffset> _fencingLatest = new();
    private readonly Dictionary<string, DaemonInfo> _daemons = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Versioned<OperatorRequest>> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _slots = new();
    /// <summary>Slots a runner of this daemon is writing for right now (slot -> record id).</summary>
    private readonly Dictionary<int, string> _reserved = new();
    private Versioned<ControlState>? _control;
    private readonly AsyncSignal _changed = new();
    /// <summary>Set when an in-flight slot may have become free, an operator request arrived, or the global switches changed.</summary>
    private readonly AsyncSignal _slotFreedOrAsked = new();

    public long Revision { get; private set; }

    /// <summary>Completes at the next change of the view.</summary>
    public Task WaitForChangeAsync() => _changed.WaitAsync();

    /// <summary>
    /// Completes when an in-flight slot may have become free (freed in etcd, or a reservation of
    /// this daemon ended), an operator request was stored, or the global switches changed. Take
    /// it before looking at the view, so that no wake-up between the look and the wait is missed.
    /// </summary>
    public Task WhenSlotFreedOrAskedAsync() => _slotFreedOrAsked.WaitAsync();

    public void Load(StoreSnapshot snapshot, DateTimeOffset now)
    {
        lock (_gate)
        {
            _hosts.Clear();
            _instances.Clear();
            _owners.Clear();
            _daemons.Clear();
            var previouslyUnowned = new Dictionary<RecordKey, DateTimeOffset>(_unownedSince);
            _unownedSince.Clear();
            foreach (var h in snapshot.Hosts)
            {
                _hosts[h.Value.Name] = h;
            }
            _fencings.Clear();
            _fencingLatest.Clear();
            foreach (var i in snapshot.Instances)
            {
                _instances[i.Value.Id] = i;
                Count(null, i.Value);
            }
            foreach (var (key, owner) in snapshot.Owners)
            {
                _owners[key] = owner;
            }
            foreach (var d in snapshot.Daemons)
            {
                _daemons[d.Id] = d;
            }
            _requests.Clear();
            foreach (var r in snapshot.Requests)
            {
                _requests[r.Value.RecordId] = r;
            }
            _slots.Clear();
            foreach (var (n, id) in snapshot.Slots)
            {
                _slots[n] = id;
                _reserved.Remove(n); // written: etcd's slot key speaks for it now
            }
            _control = snapshot.Control;
            foreach (var key in _hosts.Keys.Select(RecordKey.Host).Concat(_instances.Keys.Select(RecordKey.Instance)))
            {
                if (!_owners.ContainsKey(key) && HasWork(key))
                {
                    _unownedSince[key] = previouslyUnowned.GetValueOrDefault(key, now);
                }
            }
            Revision = snapshot.Revision;
        }
        _changed.Set();
        _slotFreedOrAsked.Set();
    }

    public void Apply(StoreChange change, DateTimeOffset now)
    {
        var wake = false;
        lock (_gate)
        {
            switch (change.Kind)
            {
                case ChangeKind.HostPut when change.Host is { } h:
                    _hosts[h.Value.Name] = h;
                    Track(RecordKey.Host(h.Value.Name), now);
                    break;
                case ChangeKind.HostDeleted when change.Key is { } k:
                    _hosts.Remove(k.Id);
                    _unownedSince.Remove(k);
                    break;
                case ChangeKind.InstancePut when change.Instance is { } i:
                    Count(_instances.GetValueOrDefault(i.Value.Id)?.Value, i.Value);
                    _instances[i.Value.Id] = i;
                    Track(RecordKey.Instance(i.Value.Id), now);
                    Track(RecordKey.Host(i.Value.SourceHost), now); // its fencing may have work now (ended, or reopened)
                    break;
                case ChangeKind.InstanceDeleted when change.Key is { } k:
                    if (_instances.Remove(k.Id, out var gone))
                    {
                        Uncount(gone.Value);
                        Track(RecordKey.Host(gone.Value.SourceHost), now);
                    }
                    _unownedSince.Remove(k);
                    break;
                case ChangeKind.OwnerPut when change.Key is { } k:
                    _owners[k] = change.Owner ?? "";
                    _unownedSince.Remove(k);
                    break;
                case ChangeKind.OwnerDeleted when change.Key is { } k:
                    _owners.Remove(k);
                    if (HasWork(k))
                    {
                        _unownedSince[k] = now;
                    }
                    break;
                case ChangeKind.DaemonPut when change.Daemon is { } d:
                    _daemons[d.Id] = d;
                    break;
                case ChangeKind.DaemonDeleted when change.Daemon is { } d:
                    _daemons.Remove(d.Id);
                    break;
                case ChangeKind.ControlPut when change.Control is { } c:
                    _control = c;
                    wake = true;
                    break;
                case ChangeKind.RequestPut when change.Request is { } r:
                    _requests[r.Value.RecordId] = r;
                    Track(RecordKey.Instance(r.Value.RecordId), now);
                    wake = true;
                    break;
                case ChangeKind.RequestDeleted when change.Key is { } k:
                    _requests.Remove(k.Id);
                    Track(k, now);
                    break;
                case ChangeKind.SlotPut when change.Slot is { } n:
                    _slots[n] = change.Owner ?? "";
                    _reserved.Remove(n); // written: etcd's slot key speaks for it now
                    break;
                case ChangeKind.SlotDeleted when change.Slot is { } n:
                    _slots.Remove(n);
                    wake = true;
                    break;
            }
            if (change.Revision > Revision)
            {
                Revision = change.Revision;
            }
        }
        _changed.Set();
        if (wake)
        {
            _slotFreedOrAsked.Set();
        }
    }

    /// <summary>
    /// Records this daemon may claim now, hosts first, then by priority and age; and the
    /// earliest time a record that is not claimable yet (grace) becomes so.
    /// </summary>
    public (IReadOnlyList<RecordKey> Now, DateTimeOffset? Next) Claimable(string daemonId, DateTimeOffset now, TimeSpan grace, Func<RecordKey, bool> skip)
    {
        lock (_gate)
        {
            var live = _daemons.Keys.ToList();
            if (!live.Contains(daemonId))
            {
                live.Add(daemonId);
            }
            var ready = new List<(RecordKey Key, int Kind, int Mine, int Priority, DateTimeOffset Created, uint Spread)>();
            DateTimeOffset? next = null;
            // Records this daemon owns but no runner of it drives (a runner ended early, a
            // restart under the same lease): "already mine", take them up again at once.
            var mine = _owners.Where(kv => kv.Value == daemonId).Select(kv => new KeyValuePair<RecordKey, DateTimeOffset>(kv.Key, DateTimeOffset.MinValue));
            foreach (var (key, since) in _unownedSince.Concat(mine))
            {
                if (skip(key) || !IsWorkable(key, out var priority, out var created, out var planner))
                {
                    continue;
                }
                var preferred = since == DateTimeOffset.MinValue
                    || (planner is not null && live.Contains(planner) ? planner : Preferred(key, live)) == daemonId;
                var eligibleAt = preferred ? since : since + grace;
                if (eligibleAt <= now)
                {
                    // Own (preferred) records first; among the rest, a per-daemon spread, so
                    // that daemons helping each other do not all race for the same records.
                    ready.Add((key, key.Kind == RecordKind.Host ? 0 : 1, preferred ? 0 : 1, priority, created, Backoff.StableHash(daemonId, key.Id)));
                }
                else if (next is null || eligibleAt < next)
                {
                    next = eligibleAt;
                }
            }
            var ordered = ready
                .OrderBy(r => r.Kind)
                .ThenBy(r => r.Mine)
                .ThenByDescending(r => r.Priority)
                .ThenBy(r => r.Mine == 0 ? r.Created : DateTimeOffset.MinValue)
                .ThenBy(r => r.Spread)
                .Select(r => r.Key)
                .ToList();
            return (ordered, next);
        }
    }

    public string? OwnerOf(RecordKey key)
    {
        lock (_gate)
        {
            return _owners.GetValueOrDefault(key);
        }
    }

    public IReadOnlyList<InstanceRecord> InstancesOf(string host, long generation)
    {
        lock (_gate)
        {
            return _instances.Values
                .Select(v => v.Value)
                .Where(r => r.SourceHost == host && r.FenceGeneration == generation)
                .ToList();
        }
    }

    /// <summary>
    /// Unowned terminal instance records last changed before <paramref name="before"/>, with
    /// their revisions; not those of a fencing whose host record has not recorded its end yet:
    /// the host's end is decided from its records (all ended, as many as it planned), so
    /// deleting one first would leave the host "evacuating" for ever.
    /// </summary>
    public IReadOnlyList<Versioned<InstanceRecord>> ExpiredRecords(DateTimeOffset before)
    {
        lock (_gate)
        {
            return _instances.Values
                .Where(v => v.Value.IsTerminal && v.Value.UpdatedAt < before && !_owners.ContainsKey(RecordKey.Instance(v.Value.Id))
                            && !FencingOpen(v.Value))
                .ToList();
        }
    }

    private bool FencingOpen(InstanceRecord r) =>
        _hosts.TryGetValue(r.SourceHost, out var h) && h.Value.FenceGeneration == r.FenceGeneration && !h.Value.IsTerminal;

    /// <summary>The live daemons as the view knows them.</summary>
    public IReadOnlyList<string> LiveDaemons()
    {
        lock (_gate)
        {
            return _daemons.Keys.ToList();
        }
    }

    /// <summary>Rendezvous (highest random weight) hashing: the live daemon preferred for a record.</summary>
    internal static string Preferred(RecordKey key, IReadOnlyList<string> liveDaemons)
    {
        string best = "";
        uint bestScore = 0;
        foreach (var d in liveDaemons)
        {
            var score = Avalanche(Backoff.StableHash(d, key.Kind == RecordKind.Host ? "host/" + key.Id : key.Id));
            if (best.Length == 0 || score > bestScore || (score == bestScore && string.CompareOrdinal(d, best) < 0))
            {
                best = d;
                bestScore = score;
            }
        }
        return best;
    }

    /// <summary>
    /// MurmurHash3's finaliser: FNV-1a alone leaves the high bits of names that differ only in
    /// their last characters (compute-01:1:r00, r01, ...) nearly alike, so one daemon of three
    /// could win none of them.
    /// </summary>
    private static uint Avalanche(uint h)
    {
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        h ^= h >> 16;
        return h;
    }

    /// <summary>Keeps <paramref name="key"/> among the claim candidates exactly while it is unowned and has work left.</summary>
    private void Track(RecordKey key, DateTimeOffset now)
    {
        if (!HasWork(key))
        {
            _unownedSince.Remove(key);
        }
        else if (!_owners.ContainsKey(key) && !_unownedSince.ContainsKey(key))
        {
            _unownedSince[key] = now;
        }
    }

    /// <summary>
    /// Work left for some daemon: a host to plan, to close or to reopen (a record of its ended
    /// fencing was retried); an instance record not ended, or with an operator request.
    /// </summary>
    private bool HasWork(RecordKey key)
    {
        if (key.Kind == RecordKind.Host)
        {
            if (!_hosts.TryGetValue(key.Id, out var h))
            {
                return false;
            }
            // An ended fencing has work again when an operator retried some of its records
            // (not when retention deleted ended ones).
            return h.Value.State is HostState.Planning or HostState.Evacuating
                   || (h.Value.State is HostState.Done or HostState.Failed && h.Value.Planned
                       && HostWorkflow.ChangedByRetry(h.Value, CountsOf(h.Value.Name, h.Value.FenceGeneration),
                           _fencingLatest.GetValueOrDefault((h.Value.Name, h.Value.FenceGeneration), DateTimeOffset.MinValue)));
        }
        return _instances.TryGetValue(key.Id, out var i) && (!i.Value.IsTerminal || _requests.ContainsKey(key.Id));
    }

    /// <summary>Automatic evacuation is paused everywhere (evacctl hold).</summary>
    public bool Held
    {
        get { lock (_gate) { return _control?.Value.Held ?? false; } }
    }

    /// <summary>The pending operator request for a record, if any.</summary>
    public Versioned<OperatorRequest>? RequestFor(string recordId)
    {
        lock (_gate)
        {
            return _requests.GetValueOrDefault(recordId);
        }
    }

    /// <summary>
    /// A free in-flight slot below <paramref name="max"/>, probing from a place derived from the
    /// record, and reserved for it in this daemon until the watch shows the slot written or <see cref="ReleaseSlots"/>: two runners of
    /// one daemon never race each other for a slot before the watch shows it taken. Slots in
    /// <paramref name="lost"/> (just lost to another daemon) are skipped. Null if all are taken.
    /// </summary>
    public int? ReserveSlot(string recordId, int max, IReadOnlySet<int>? lost = null)
    {
        lock (_gate)
        {
            // The record's own reservation first: it was made for this record while it waited.
            foreach (var (mine, by) in _reserved)
            {
                if (by == recordId && mine < max && !_slots.ContainsKey(mine) && lost?.Contains(mine) != true)
                {
                    return mine;
                }
            }
            var start = (int)(Backoff.StableHash(recordId, 0) % (uint)max);
            for (var i = 0; i < max; i++)
            {
                var n = (start + i) % max;
                if (!_slots.ContainsKey(n) && (!_reserved.TryGetValue(n, out var by) || by == recordId) && lost?.Contains(n) != true)
                {
                    _reserved[n] = recordId;
                    return n;
                }
            }
            return null;
        }
    }

    /// <summary>
    /// Whether the instance record, unowned, can only make progress with an in-flight slot: it
    /// is accepted (no attempt running) and no operator request waits for it. Such a record is
    /// started only with a slot reserved for it, so that no daemon claims it (a write) just to
    /// wait for a slot.
    /// </summary>
    public bool NeedsSlot(string recordId)
    {
        lock (_gate)
        {
            return _instances.TryGetValue(recordId, out var i)
                && i.Value.State == RecordState.Accepted
                && !_requests.ContainsKey(recordId);
        }
    }

    /// <summary>Ends the record's reservations (its write did not take the slot, or its runner ended).</summary>
    public void ReleaseSlots(string recordId)
    {
        var released = false;
        lock (_gate)
        {
            foreach (var n in _reserved.Where(kv => kv.Value == recordId).Select(kv => kv.Key).ToList())
            {
                released |= _reserved.Remove(n);
            }
        }
        if (released)
        {
            _slotFreedOrAsked.Set();
        }
    }

    /// <summary>Instance records by state, and host fencings by state, as this daemon sees the store.</summary>
    public (IReadOnlyDictionary<RecordState, int> Records, IReadOnlyDictionary<HostState, int> Hosts) StateCounts()
    {
        lock (_gate)
        {
            var records = Enum.GetValues<RecordState>().ToDictionary(s => s, s => _fencings.Values.Sum(c => c[(int)s]));
            var hosts = Enum.GetValues<HostState>().ToDictionary(s => s, s => _hosts.Values.Count(h => h.Value.State == s));
            return (records, hosts);
        }
    }

    /// <summary>When the host's current fencing was reported, if known.</summary>
    public DateTimeOffset? ReportedAt(string host)
    {
        lock (_gate)
        {
            return _hosts.GetValueOrDefault(host)?.Value.ReportedAt;
        }
    }

    /// <summary>Per-state record counts of each fencing, kept current incrementally.</summary>
    private void Count(InstanceRecord? before, InstanceRecord after)
    {
        var key = (after.SourceHost, after.FenceGeneration);
        if (!_fencings.TryGetValue(key, out var counts))
        {
            _fencings[key] = counts = new int[Enum.GetValues<RecordState>().Length];
        }
        if (before is not null)
        {
            counts[(int)before.State]--;
        }
        counts[(int)after.State]++;
        if (after.UpdatedAt > _fencingLatest.GetValueOrDefault(key, DateTimeOffset.MinValue))
        {
            _fencingLatest[key] = after.UpdatedAt;
        }
    }

    private void Uncount(InstanceRecord gone)
    {
        if (_fencings.TryGetValue((gone.SourceHost, gone.FenceGeneration), out var counts))
        {
            counts[(int)gone.State]--;
        }
    }

    private (int Total, int Pending) Totals(string host, long generation)
    {
        if (!_fencings.TryGetValue((host, generation), out var c))
        {
            return (0, 0);
        }
        var pending = c[(int)RecordState.Accepted] + c[(int)RecordState.Evacuating] + c[(int)RecordState.Rebuilding] + c[(int)RecordState.Retrying];
        return (c.Sum(), pending);
    }

    /// <summary>The fencing's counts as the records say now.</summary>
    private RecordCounts CountsOf(string host, long generation)
    {
        if (!_fencings.TryGetValue((host, generation), out var c))
        {
            return RecordCounts.Empty;
        }
        return new RecordCounts(c.Sum(), c[(int)RecordState.Accepted],
            c[(int)RecordState.Evacuating] + c[(int)RecordState.Rebuilding] + c[(int)RecordState.Retrying],
            c[(int)RecordState.Done], c[(int)RecordState.Failed], c[(int)RecordState.Skipped], c[(int)RecordState.Cancelled]);
    }

    /// <param name="planner">
    /// For an instance record nobody has owned yet, the daemon that planned it: that daemon is
    /// preferred for it while it lives, so that one daemon (which has just read the host's
    /// servers) starts the fresh plan's attempts and follows them with one Nova read per poll,
    /// instead of every daemon reading the same host. Null otherwise (rendezvous hashing).
    /// </param>
    private bool IsWorkable(RecordKey key, out int priority, out DateTimeOffset created, out string? planner)
    {
        priority = 0;
        created = default;
        planner = null;
        if (key.Kind == RecordKind.Host)
        {
            if (!_hosts.TryGetValue(key.Id, out var h))
            {
                return false;
            }
            created = h.Value.ReportedAt;
            if (h.Value.State == HostState.Planning)
            {
                return _control?.Value.Held != true; // a global hold starts nothing new
            }
            if (h.Value.State is HostState.Done or HostState.Failed)
            {
                return HasWork(key); // reopen: a record of the ended fencing was retried
            }
            // An evacuating host needs a daemon only to record its end, once all its records ended.
            var (total, pending) = Totals(h.Value.Name, h.Value.FenceGeneration);
            return h.Value.State == HostState.Evacuating && pending == 0 && total >= h.Value.Counts.Total;
        }
        if (_instances.TryGetValue(key.Id, out var i) && HasWork(key))
        {
            priority = i.Value.Priority;
            created = i.Value.CreatedAt;
            if (i.Value is { LastOwner: null, Attempt: 0, State: RecordState.Accepted, History.Count: > 0 })
            {
                planner = i.Value.History[0].Daemon;
            }
            // A global hold starts nothing new; what is in flight in Nova is still followed.
            return _control?.Value.Held != true || i.Value.State.IsInFlight();
        }
        return false;
    }
}
