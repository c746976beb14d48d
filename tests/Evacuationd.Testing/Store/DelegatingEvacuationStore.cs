using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Testing.Store;

/// <summary>
/// Passes every call to an inner store; override a member to observe it or inject a fault
/// (a keepalive that throws or hangs, a write that is refused, ...).
/// </summary>
public class DelegatingEvacuationStore(IEvacuationStore inner) : IEvacuationStore
{
    protected IEvacuationStore Inner { get; } = inner;

    public virtual Task<DaemonLease> GrantLeaseAsync(DaemonInfo daemon, TimeSpan ttl, CancellationToken ct) => Inner.GrantLeaseAsync(daemon, ttl, ct);

    public virtual Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct) => Inner.KeepAliveAsync(lease, ct);

    public virtual Task RevokeLeaseAsync(DaemonLease lease, CancellationToken ct) => Inner.RevokeLeaseAsync(lease, ct);

    public virtual Task<IReadOnlyList<DaemonInfo>> ListDaemonsAsync(CancellationToken ct) => Inner.ListDaemonsAsync(ct);

    public virtual Task<Versioned<HostRecord>?> GetHostAsync(string host, CancellationToken ct) => Inner.GetHostAsync(host, ct);

    public virtual Task<IReadOnlyList<Versioned<HostRecord>>> ListHostsAsync(CancellationToken ct) => Inner.ListHostsAsync(ct);

    public virtual Task<WriteResult> PutHostIfAsync(HostRecord record, long expectedRevision, CancellationToken ct) => Inner.PutHostIfAsync(record, expectedRevision, ct);

    public virtual Task<ClaimResult<HostRecord>> TryClaimHostAsync(DaemonLease lease, string host, long expectedRevision, HostRecord? update, CancellationToken ct) =>
        Inner.TryClaimHostAsync(lease, host, expectedRevision, update, ct);

    public virtual Task<WriteResult> UpdateHostAsync(Ownership owner, HostRecord update, long expectedRevision, bool release, CancellationToken ct) =>
        Inner.UpdateHostAsync(owner, update, expectedRevision, release, ct);

    public virtual Task<WriteResult> CommitPlanAsync(Ownership owner, HostRecord update, long expectedRevision, IReadOnlyList<InstanceRecord> records, CancellationToken ct) =>
        Inner.CommitPlanAsync(owner, update, expectedRevision, records, ct);

    public virtual Task<Versioned<InstanceRecord>?> GetInstanceAsync(string id, CancellationToken ct) => Inner.GetInstanceAsync(id, ct);

    public virtual Task<IReadOnlyList<Versioned<InstanceRecord>>> ListInstancesAsync(string? host, long generation, CancellationToken ct) =>
        Inner.ListInstancesAsync(host, generation, ct);

    public virtual Task<ClaimResult<InstanceRecord>> TryClaimInstanceAsync(DaemonLease lease, string id, long expectedRevision, InstanceRecord? update, CancellationToken ct) =>
        Inner.TryClaimInstanceAsync(lease, id, expectedRevision, update, ct);

    public virtual Task<WriteResult> UpdateInstanceAsync(Ownership owner, InstanceRecord update, long expectedRevision, bool release, CancellationToken ct) =>
        Inner.UpdateInstanceAsync(owner, update, expectedRevision, release, ct);

    public virtual Task<Versioned<ControlState>?> GetControlAsync(CancellationToken ct) => Inner.GetControlAsync(ct);

    public virtual Task<WriteResult> PutControlIfAsync(ControlState control, long expectedRevision, CancellationToken ct) =>
        Inner.PutControlIfAsync(control, expectedRevision, ct);

    public virtual Task<WriteResult> CommitFenceAsync(HostRecord host, long expectedHostRevision, ControlState control, long expectedControlRevision, CancellationToken ct) =>
        Inner.CommitFenceAsync(host, expectedHostRevision, control, expectedControlRevision, ct);

    public virtual Task<WriteResult> PutRequestAsync(OperatorRequest request, CancellationToken ct) => Inner.PutRequestAsync(request, ct);

    public virtual Task<WriteResult> DeleteRequestIfAsync(string recordId, long expectedRevision, CancellationToken ct) =>
        Inner.DeleteRequestIfAsync(recordId, expectedRevision, ct);

    public virtual Task<WriteResult> DeleteInstanceIfAsync(string id, long expectedRevision, CancellationToken ct) =>
        Inner.DeleteInstanceIfAsync(id, expectedRevision, ct);

    public virtual Task ReleaseAsync(Ownership owner, CancellationToken ct) => Inner.ReleaseAsync(owner, ct);

    public virtual Task<string?> GetOwnerAsync(RecordKey key, CancellationToken ct) => Inner.GetOwnerAsync(key, ct);

    public virtual Task<StoreSnapshot> ReadSnapshotAsync(CancellationToken ct) => Inner.ReadSnapshotAsync(ct);

    public virtual IAsyncEnumerable<StoreChange> WatchAsync(long afterRevision, CancellationToken ct) => Inner.WatchAsync(afterRevision, ct);
}
