using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Evacuationd.Core.Records;

namespace Evacuationd.Core.Store;

/// <summary>
/// The embedded default store: everything in one process, with etcd's semantics where they
/// matter (one revision counter, leases that really expire on the injected
/// <see cref="TimeProvider"/>, owner keys deleted with their lease, atomic guarded writes,
/// watches that resume from a revision). Used by <c>evacuationd demo</c>/<c>dev</c> and
/// by the store contract tests; state is lost when the process ends.
/// </summary>
public sealed class InMemoryEvacuationStore : IEvacuationStore, IDisposable
{
    private sealed record Lease(long Id, DaemonInfo Daemon, TimeSpan Ttl, DateTimeOffset ExpiresAt);

    private sealed record Owner(string DaemonId, long LeaseId);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly int _historyLimit;
    private readonly Dictionary<string, Versioned<HostRecord>> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Versioned<InstanceRecord>> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<RecordKey, Owner> _owners = new();
    private readonly Dictionary<long, Lease> _leases = new();
    private readonly Dictionary<string, Versioned<OperatorRequest>> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (string RecordId, long LeaseId)> _slots = new();
    private Versioned<ControlState>? _control;
    private readonly LinkedList<StoreChange> _log = new();
    private readonly List<Channel<StoreChange>> _watchers = new();
    private readonly ITimer _expiryTimer;
    private long _revision;
    private long _compactedThrough; // first revision a watch can still start at
    private long _nextLeaseId = 0x7a5e_0000_0001;

    /// <param name="time">Drives lease expiry.</param>
    /// <param name="historyLimit">How many changes stay available to resuming watches.</param>
    public InMemoryEvacuationStore(TimeProvider time, int historyLimit = 100_000)
    {
        _time = time;
        _historyLimit = historyLimit;
        _expiryTimer = time.CreateTimer(_ => OnExpiryTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The current revision (for tests and diagnostics).</summary>
    public long Revision
    {
        get { lock (_gate) { return _revision; } }
    }

    /// <summary>
    /// Drops watch history before the current revision, as an etcd compaction at it would:
    /// a watch may still start at the current revision, not before.
    /// </summary>
    public void Compact()
    {
        lock (_gate)
        {
            while (_log.First is { } first && first.Value.Revision < _revision)
            {
                _log.RemoveFirst();
            }
            _compactedThrough = _revision;
        }
    }

    public void Dispose()
    {
        _expiryTimer.Dispose();
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                w.Writer.TryComplete();
            }
            _watchers.Clear();
        }
    }

    // ---- daemons and leases ----

    public Task<DaemonLease> GrantLeaseAsync(DaemonInfo daemon, TimeSpan ttl, CancellationToken ct)
    {
        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "lease TTL must be positive");
        }
        lock (_gate)
        {
            ExpireDue();
            var id = _nextLeaseId++;
            var lease = new Lease(id, daemon with { LeaseId = id }, ttl, Now + ttl);
            _leases[id] = lease;
            Emit(new StoreChange(++_revision, ChangeKind.DaemonPut, Daemon: Describe(lease)));
            ArmExpiryTimer();
            return Task.FromResult(new DaemonLease(daemon.Id, id, ttl));
        }
    }

    public Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if (!_leases.TryGetValue(lease.LeaseId, out var l))
            {
                return Task.FromResult(new KeepAliveResult(false, TimeSpan.Zero));
            }
            _leases[l.Id] = l with { ExpiresAt = Now + l.Ttl };
            ArmExpiryTimer();
            return Task.FromResult(new KeepAliveResult(true, l.Ttl));
        }
    }

    public Task RevokeLeaseAsync(DaemonLease lease, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if (_leases.ContainsKey(lease.LeaseId))
            {
                DropLease(lease.LeaseId);
                ArmExpiryTimer();
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DaemonInfo>> ListDaemonsAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            IReadOnlyList<DaemonInfo> list = _leases.Values.OrderBy(l => l.Daemon.Id, StringComparer.Ordinal).Select(Describe).ToList();
            return Task.FromResult(list);
        }
    }

    // ---- hosts ----

    public Task<Versioned<HostRecord>?> GetHostAsync(string host, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            return Task.FromResult(_hosts.GetValueOrDefault(host));
        }
    }

    public Task<IReadOnlyList<Versioned<HostRecord>>> ListHostsAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            IReadOnlyList<Versioned<HostRecord>> list = _hosts.Values.OrderBy(h => h.Value.Name, StringComparer.Ordinal).ToList();
            return Task.FromResult(list);
        }
    }

    public Task<WriteResult> PutHostIfAsync(HostRecord record, long expectedRevision, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var current = _hosts.GetValueOrDefault(record.Name);
            if ((current?.Revision ?? 0) != expectedRevision)
            {
                return Result(WriteStatus.Conflict, $"host record of {record.Name} is at revision {current?.Revision ?? 0}, not {expectedRevision}");
            }
            if (_owners.TryGetValue(RecordKey.Host(record.Name), out var owner))
            {
                return Result(WriteStatus.Conflict, $"host record of {record.Name} is owned by {owner.DaemonId}");
            }
            var rev = ++_revision;
            PutHost(record, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<Versioned<ControlState>?> GetControlAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            return Task.FromResult(_control);
        }
    }

    public Task<WriteResult> PutControlIfAsync(ControlState control, long expectedRevision, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if ((_control?.Revision ?? 0) != expectedRevision)
            {
                return Result(WriteStatus.Conflict, $"the control record is at revision {_control?.Revision ?? 0}, not {expectedRevision}");
            }
            var rev = ++_revision;
            PutControl(control, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<WriteResult> CommitFenceAsync(HostRecord host, long expectedHostRevision, ControlState control, long expectedControlRevision, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var current = _hosts.GetValueOrDefault(host.Name);
            if ((current?.Revision ?? 0) != expectedHostRevision || _owners.ContainsKey(RecordKey.Host(host.Name)))
            {
                return Result(WriteStatus.Conflict, $"host record of {host.Name} changed or is owned");
            }
            if ((_control?.Revision ?? 0) != expectedControlRevision)
            {
                return Result(WriteStatus.Conflict, "the control record changed");
            }
            var rev = ++_revision;
            PutHost(host, rev);
            PutControl(control, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<WriteResult> PutRequestAsync(OperatorRequest request, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var rev = ++_revision;
            var v = new Versioned<OperatorRequest>(request, rev);
            _requests[request.RecordId] = v;
            Emit(new StoreChange(rev, ChangeKind.RequestPut, RecordKey.Instance(request.RecordId), Request: v));
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<WriteResult> DeleteRequestIfAsync(string recordId, long expectedRevision, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if (!_requests.TryGetValue(recordId, out var current))
            {
                return Result(WriteStatus.NotFound, $"no request for {recordId}");
            }
            if (current.Revision != expectedRevision)
            {
                return Result(WriteStatus.Conflict, $"the request for {recordId} was replaced");
            }
            var rev = ++_revision;
            _requests.Remove(recordId);
            Emit(new StoreChange(rev, ChangeKind.RequestDeleted, RecordKey.Instance(recordId)));
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<ClaimResult<HostRecord>> TryClaimHostAsync(DaemonLease lease, string host, long expectedRevision, HostRecord? update, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var key = RecordKey.Host(host);
            if (update is not null && update.Name != host)
            {
                throw new ArgumentException($"the update is for host {update.Name}, not the claimed {host}", nameof(update));
            }
            var status = CheckClaim(lease, key, _hosts.GetValueOrDefault(host)?.Revision, expectedRevision, out var current);
            if (status != ClaimStatus.Claimed)
            {
                return Task.FromResult(new ClaimResult<HostRecord>(status, _hosts.GetValueOrDefault(host), CurrentOwner: current));
            }
            var rev = ++_revision;
            SetOwner(key, lease, rev);
            if (update is not null)
            {
                PutHost(update, rev);
            }
            return Task.FromResult(new ClaimResult<HostRecord>(ClaimStatus.Claimed, _hosts[host], new Ownership(key, lease.DaemonId, lease.LeaseId)));
        }
    }

    public Task<WriteResult> UpdateHostAsync(Ownership owner, HostRecord update, long expectedRevision, bool release, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var check = CheckTarget(owner, RecordKey.Host(update.Name)) ?? CheckOwned(owner, _hosts.GetValueOrDefault(update.Name)?.Revision, expectedRevision);
            if (check is not null)
            {
                return Task.FromResult(check);
            }
            var rev = ++_revision;
            if (release)
            {
                DeleteOwner(owner.Key, rev);
            }
            PutHost(update, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<WriteResult> CommitPlanAsync(Ownership owner, HostRecord update, long expectedRevision, IReadOnlyList<InstanceRecord> records, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var check = CheckTarget(owner, RecordKey.Host(update.Name)) ?? CheckOwned(owner, _hosts.GetValueOrDefault(update.Name)?.Revision, expectedRevision);
            if (check is not null)
            {
                return Task.FromResult(check);
            }
            var rev = ++_revision;
            foreach (var r in records)
            {
                if (!_instances.ContainsKey(r.Id))
                {
                    PutInstance(r, rev);
                }
            }
            PutHost(update, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    // ---- instances ----

    public Task<Versioned<InstanceRecord>?> GetInstanceAsync(string id, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            return Task.FromResult(_instances.GetValueOrDefault(id));
        }
    }

    public Task<IReadOnlyList<Versioned<InstanceRecord>>> ListInstancesAsync(string? host, long generation, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            IReadOnlyList<Versioned<InstanceRecord>> list = _instances.Values
                .Where(v => host is null || v.Value.SourceHost == host)
                .Where(v => generation == 0 || v.Value.FenceGeneration == generation)
                .OrderBy(v => v.Value.SourceHost, StringComparer.Ordinal)
                .ThenBy(v => v.Value.FenceGeneration)
                .ThenBy(v => v.Value.Id, StringComparer.Ordinal)
                .ToList();
            return Task.FromResult(list);
        }
    }

    public Task<ClaimResult<InstanceRecord>> TryClaimInstanceAsync(DaemonLease lease, string id, long expectedRevision, InstanceRecord? update, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var key = RecordKey.Instance(id);
            if (update is not null && update.Id != id)
            {
                throw new ArgumentException($"the update is for record {update.Id}, not the claimed {id}", nameof(update));
            }
            var status = CheckClaim(lease, key, _instances.GetValueOrDefault(id)?.Revision, expectedRevision, out var current);
            if (status != ClaimStatus.Claimed)
            {
                return Task.FromResult(new ClaimResult<InstanceRecord>(status, _instances.GetValueOrDefault(id), CurrentOwner: current));
            }
            if (update is not null && SlotTaken(_instances[id].Value, update))
            {
                return Task.FromResult(new ClaimResult<InstanceRecord>(ClaimStatus.Conflict, _instances[id]));
            }
            var rev = ++_revision;
            SetOwner(key, lease, rev);
            if (update is not null)
            {
                MoveSlot(_instances[id].Value, update, lease.LeaseId, rev);
                PutInstance(update, rev);
            }
            return Task.FromResult(new ClaimResult<InstanceRecord>(ClaimStatus.Claimed, _instances[id], new Ownership(key, lease.DaemonId, lease.LeaseId)));
        }
    }

    public Task<WriteResult> UpdateInstanceAsync(Ownership owner, InstanceRecord update, long expectedRevision, bool release, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            var check = CheckTarget(owner, RecordKey.Instance(update.Id)) ?? CheckOwned(owner, _instances.GetValueOrDefault(update.Id)?.Revision, expectedRevision);
            if (check is not null)
            {
                return Task.FromResult(check);
            }
            if (SlotTaken(_instances[update.Id].Value, update))
            {
                return Result(WriteStatus.Conflict, $"in-flight slot {update.Slot} is taken");
            }
            var rev = ++_revision;
            if (release)
            {
                DeleteOwner(owner.Key, rev);
            }
            MoveSlot(_instances[update.Id].Value, update, owner.LeaseId, rev);
            PutInstance(update, rev);
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task<WriteResult> DeleteInstanceIfAsync(string id, long expectedRevision, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if (!_instances.TryGetValue(id, out var current))
            {
                return Result(WriteStatus.NotFound, $"record {id} does not exist");
            }
            if (current.Revision != expectedRevision || !current.Value.IsTerminal || _owners.ContainsKey(RecordKey.Instance(id)))
            {
                return Result(WriteStatus.Conflict, $"record {id} changed, is owned or is not terminal");
            }
            var rev = ++_revision;
            _instances.Remove(id);
            Emit(new StoreChange(rev, ChangeKind.InstanceDeleted, RecordKey.Instance(id)));
            return Result(WriteStatus.Ok, revision: rev);
        }
    }

    public Task ReleaseAsync(Ownership owner, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            if (_owners.TryGetValue(owner.Key, out var o) && o.DaemonId == owner.DaemonId && o.LeaseId == owner.LeaseId)
            {
                DeleteOwner(owner.Key, ++_revision);
            }
        }
        return Task.CompletedTask;
    }

    public Task<string?> GetOwnerAsync(RecordKey key, CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            return Task.FromResult(_owners.GetValueOrDefault(key)?.DaemonId);
        }
    }

    // ---- snapshot and watch ----

    public Task<StoreSnapshot> ReadSnapshotAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            ExpireDue();
            return Task.FromResult(new StoreSnapshot(
                _revision,
                _hosts.Values.ToList(),
                _instances.Values.ToList(),
                _owners.ToDictionary(kv => kv.Key, kv => kv.Value.DaemonId),
                _leases.Values.Select(Describe).ToList())
            {
                Control = _control,
                Requests = _requests.Values.ToList(),
                Slots = _slots.ToDictionary(kv => kv.Key, kv => kv.Value.RecordId),
            });
        }
    }

    public async IAsyncEnumerable<StoreChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<StoreChange>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            ExpireDue();
            // The first revision still available is _compactedThrough (etcd: compact revision).
            if (afterRevision + 1 < _compactedThrough)
            {
                throw new WatchCompactedException(afterRevision, _compactedThrough);
            }
            foreach (var change in _log)
            {
                if (change.Revision > afterRevision)
                {
                    channel.Writer.TryWrite(change);
                }
            }
            _watchers.Add(channel);
        }
        try
        {
            await foreach (var change in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                yield return change;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    // ---- internals (all called under _gate) ----

    private DateTimeOffset Now => _time.GetUtcNow();

    private static Task<WriteResult> Result(WriteStatus status, string? detail = null, long revision = 0) =>
        Task.FromResult(new WriteResult(status, revision, detail));

    private ClaimStatus CheckClaim(DaemonLease lease, RecordKey key, long? recordRevision, long expectedRevision, out string? currentOwner)
    {
        currentOwner = null;
        if (!_leases.ContainsKey(lease.LeaseId))
        {
            return ClaimStatus.LeaseLost;
        }
        if (recordRevision is null)
        {
            return ClaimStatus.NotFound;
        }
        if (_owners.TryGetValue(key, out var owner) && (owner.DaemonId != lease.DaemonId || owner.LeaseId != lease.LeaseId))
        {
            currentOwner = owner.DaemonId;
            return ClaimStatus.OwnedByOther;
        }
        // Not owned, or already owned under this very lease ("already mine" is a success).
        return recordRevision != expectedRevision ? ClaimStatus.Conflict : ClaimStatus.Claimed;
    }

    /// <summary>An ownership covers exactly its record: never another one (S3).</summary>
    private static WriteResult? CheckTarget(Ownership owner, RecordKey target) =>
        owner.Key == target ? null : new WriteResult(WriteStatus.NotOwner, 0, $"the ownership is of {owner.Key}, not of {target}");

    private WriteResult? CheckOwned(Ownership owner, long? recordRevision, long expectedRevision)
    {
        if (!_leases.ContainsKey(owner.LeaseId))
        {
            return new WriteResult(WriteStatus.LeaseLost, 0, $"lease {owner.LeaseId:x} of {owner.DaemonId} is gone");
        }
        if (!_owners.TryGetValue(owner.Key, out var o) || o.DaemonId != owner.DaemonId || o.LeaseId != owner.LeaseId)
        {
            return new WriteResult(WriteStatus.NotOwner, 0, o is null ? $"{owner.Key} has no owner" : $"{owner.Key} is owned by {o.DaemonId}");
        }
        if (recordRevision is null)
        {
            return new WriteResult(WriteStatus.NotFound, 0, $"{owner.Key} does not exist");
        }
        if (recordRevision != expectedRevision)
        {
            return new WriteResult(WriteStatus.Conflict, 0, $"{owner.Key} is at revision {recordRevision}, not {expectedRevision}");
        }
        return null;
    }

    private void PutControl(ControlState control, long rev)
    {
        _control = new Versioned<ControlState>(control, rev);
        Emit(new StoreChange(rev, ChangeKind.ControlPut, Control: _control));
    }

    /// <summary>True when <paramref name="next"/> takes a slot someone else holds.</summary>
    private bool SlotTaken(InstanceRecord stored, InstanceRecord next) =>
        next.Slot is { } s && s != stored.Slot && _slots.TryGetValue(s, out var holder) && holder.RecordId != next.Id;

    /// <summary>Takes and frees slot keys as the record's Slot changes (the caller checked <see cref="SlotTaken"/>).</summary>
    private void MoveSlot(InstanceRecord stored, InstanceRecord next, long leaseId, long rev)
    {
        if (stored.Slot is { } old && old != next.Slot && _slots.TryGetValue(old, out var holder) && holder.RecordId == next.Id)
        {
            _slots.Remove(old);
            Emit(new StoreChange(rev, ChangeKind.SlotDeleted, RecordKey.Instance(next.Id), Owner: next.Id, Slot: old));
        }
        if (next.Slot is { } taken && taken != stored.Slot)
        {
            _slots[taken] = (next.Id, leaseId);
            Emit(new StoreChange(rev, ChangeKind.SlotPut, RecordKey.Instance(next.Id), Owner: next.Id, Slot: taken));
        }
    }

    private void PutHost(HostRecord record, long rev)
    {
        var v = new Versioned<HostRecord>(record, rev);
        _hosts[record.Name] = v;
        Emit(new StoreChange(rev, ChangeKind.HostPut, RecordKey.Host(record.Name), Host: v));
    }

    private void PutInstance(InstanceRecord record, long rev)
    {
        var v = new Versioned<InstanceRecord>(record, rev);
        _instances[record.Id] = v;
        Emit(new StoreChange(rev, ChangeKind.InstancePut, RecordKey.Instance(record.Id), Instance: v));
    }

    private void SetOwner(RecordKey key, DaemonLease lease, long rev)
    {
        if (_owners.TryGetValue(key, out var existing) && existing.DaemonId == lease.DaemonId && existing.LeaseId == lease.LeaseId)
        {
            return;
        }
        _owners[key] = new Owner(lease.DaemonId, lease.LeaseId);
        Emit(new StoreChange(rev, ChangeKind.OwnerPut, key, Owner: lease.DaemonId));
    }

    private void DeleteOwner(RecordKey key, long rev)
    {
        if (_owners.Remove(key, out var o))
        {
            Emit(new StoreChange(rev, ChangeKind.OwnerDeleted, key, Owner: o.DaemonId));
        }
    }

    /// <summary>Deletes a lease and every key bound to it, in one revision (as etcd does).</summary>
    private void DropLease(long leaseId)
    {
        if (!_leases.Remove(leaseId, out var lease))
        {
            return;
        }
        var rev = ++_revision;
        foreach (var key in _owners.Where(kv => kv.Value.LeaseId == leaseId).Select(kv => kv.Key).ToList())
        {
            DeleteOwner(key, rev);
        }
        foreach (var (slot, holder) in _slots.Where(kv => kv.Value.LeaseId == leaseId).ToList())
        {
            _slots.Remove(slot);
            Emit(new StoreChange(rev, ChangeKind.SlotDeleted, RecordKey.Instance(holder.RecordId), Owner: holder.RecordId, Slot: slot));
        }
        Emit(new StoreChange(rev, ChangeKind.DaemonDeleted, Daemon: Describe(lease)));
    }

    private void ExpireDue()
    {
        var now = Now;
        foreach (var id in _leases.Values.Where(l => l.ExpiresAt <= now).Select(l => l.Id).ToList())
        {
            DropLease(id);
        }
    }

    private void OnExpiryTimer()
    {
        lock (_gate)
        {
            ExpireDue();
            ArmExpiryTimer();
        }
    }

    private void ArmExpiryTimer()
    {
        if (_leases.Count == 0)
        {
            _expiryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var due = _leases.Values.Min(l => l.ExpiresAt) - Now;
        _expiryTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private static DaemonInfo Describe(Lease l) => l.Daemon with { LeaseId = l.Id, LeaseExpiresAt = l.ExpiresAt };

    private void Emit(StoreChange change)
    {
        _log.AddLast(change);
        while (_log.Count > _historyLimit)
        {
            _compactedThrough = _log.First!.Value.Revision + 1;
            _log.RemoveFirst();
        }
        foreach (var w in _watchers)
        {
            w.Writer.TryWrite(change);
        }
    }
}
