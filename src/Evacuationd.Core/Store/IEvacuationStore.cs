using Evacuationd.Core.Records;

namespace Evacuationd.Core.Store;

/// <summary>
/// The durable state of evacuationd: host fencings, instance records, their owners and the
/// live daemons. Implemented in memory (the embedded default) and on etcd.
///
/// Rules every implementation MUST follow:
/// <list type="bullet">
/// <item>Every method that returns normally has committed what it reports (linearizable):
/// a later read on any daemon sees it. A write the store could not confirm throws
/// <see cref="StoreUnavailableException"/> only when the implementation could not resolve its
/// outcome by re-reading; "already mine / already in the state I wanted" MUST be reported as
/// <see cref="WriteStatus.Ok"/>.</item>
/// <item>Ownership (S3): an owner key bound to the owner's lease. A record has at most one
/// owner. Every owned write MUST be one atomic compare-and-set that checks the owner key
/// (daemon id AND lease id) and the record's revision; a writer whose lease expired MUST
/// get <see cref="WriteStatus.LeaseLost"/> or <see cref="WriteStatus.NotOwner"/> and change
/// nothing.</item>
/// <item>Lease expiry MUST delete every key bound to the lease (owner keys, membership) at
/// once and emit <see cref="ChangeKind.OwnerDeleted"/> / <see cref="ChangeKind.DaemonDeleted"/>
/// to watchers.</item>
/// <item>Lost races (another owner, a changed revision) are results, never exceptions.</item>
/// <item>Revisions are positive, increase with every committed change, and are shared by
/// all keys (one counter), as in etcd.</item>
/// </list>
/// </summary>
public interface IEvacuationStore
{
    // ---- daemons and leases ----

    /// <summary>
    /// Grants a lease of <paramref name="ttl"/> and registers <paramref name="daemon"/> under
    /// it. Both MUST be created together: a daemon is listed exactly while its lease lives.
    /// </summary>
    Task<DaemonLease> GrantLeaseAsync(DaemonInfo daemon, TimeSpan ttl, CancellationToken ct);

    /// <summary>Renews the lease for another TTL. Returns not alive once the lease is gone.</summary>
    Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct);

    /// <summary>
    /// Revokes the lease at once (graceful shutdown): every key bound to it MUST be deleted,
    /// so other daemons can take over immediately. Revoking a lost lease is not an error.
    /// </summary>
    Task RevokeLeaseAsync(DaemonLease lease, CancellationToken ct);

    /// <summary>The live daemons with their lease ids and expiry.</summary>
    Task<IReadOnlyList<DaemonInfo>> ListDaemonsAsync(CancellationToken ct);

    // ---- host fencings ----

    Task<Versioned<HostRecord>?> GetHostAsync(string host, CancellationToken ct);

    Task<IReadOnlyList<Versioned<HostRecord>>> ListHostsAsync(CancellationToken ct);

    /// <summary>
    /// Fencing intake (S2): writes <paramref name="record"/> only if the host's record is still
    /// at <paramref name="expectedRevision"/> (0: MUST NOT exist) and has no owner. Not an
    /// owned write: the caller decided on the current record with <c>FencePolicy</c>.
    /// Returns <see cref="WriteStatus.Conflict"/> when the record changed or is owned.
    /// </summary>
    Task<WriteResult> PutHostIfAsync(HostRecord record, long expectedRevision, CancellationToken ct);

    /// <summary>
    /// Claims the host record: succeeds only if it has no owner (or is already owned under
    /// the caller's very lease: "already mine" is a success) and is at
    /// <paramref name="expectedRevision"/>; creates the owner key with the caller's lease
    /// and, in the same transaction, writes <paramref name="update"/> when given.
    /// <paramref name="update"/> MUST be the claimed record (same host).
    /// </summary>
    Task<ClaimResult<HostRecord>> TryClaimHostAsync(DaemonLease lease, string host, long expectedRevision, HostRecord? update, CancellationToken ct);

    /// <summary>Owned write of the host record; with <paramref name="release"/> the owner key is deleted in the same transaction.</summary>
    Task<WriteResult> UpdateHostAsync(Ownership owner, HostRecord update, long expectedRevision, bool release, CancellationToken ct);

    /// <summary>
    /// Commits a host's plan: writes <paramref name="update"/> (owned, guarded like
    /// <see cref="UpdateHostAsync"/>) and creates each of <paramref name="records"/> that does not
    /// exist yet; existing ids MUST be left unchanged (re-planning after a crash is idempotent).
    /// The host update MUST become visible only once every record exists.
    /// </summary>
    Task<WriteResult> CommitPlanAsync(Ownership owner, HostRecord update, long expectedRevision, IReadOnlyList<InstanceRecord> records, CancellationToken ct);

    // ---- global switches and fencing intake ----

    /// <summary>The global switches, or null if never written (<see cref="ControlState.Initial"/>).</summary>
    Task<Versioned<ControlState>?> GetControlAsync(CancellationToken ct);

    /// <summary>Writes the switches if still at <paramref name="expectedRevision"/> (0: never written). Not owned.</summary>
    Task<WriteResult> PutControlIfAsync(ControlState control, long expectedRevision, CancellationToken ct);

    /// <summary>
    /// Fencing intake with the blast-radius window (S2, S6): writes <paramref name="host"/> (as
    /// <see cref="PutHostIfAsync"/>) and <paramref name="control"/> (as <see cref="PutControlIfAsync"/>)
    /// in ONE transaction, or neither (<see cref="WriteStatus.Conflict"/>).
    /// </summary>
    Task<WriteResult> CommitFenceAsync(HostRecord host, long expectedHostRevision, ControlState control, long expectedControlRevision, CancellationToken ct);

    // ---- operator requests ----

    /// <summary>Stores an operator request for a record, replacing an earlier one. Not owned.</summary>
    Task<WriteResult> PutRequestAsync(OperatorRequest request, CancellationToken ct);

    /// <summary>Removes an applied request if it is still at <paramref name="expectedRevision"/> (a newer one stays).</summary>
    Task<WriteResult> DeleteRequestIfAsync(string recordId, long expectedRevision, CancellationToken ct);

    // ---- instance records ----
    //
    // In-flight slots (the global limit of evacuations Nova runs at once) follow the record:
    // an instance write (claim with update, or update) whose new record names a Slot the
    // stored one did not MUST create that slot's key, bound to the writer's lease, in the same
    // transaction, and fail with Conflict when the slot is taken; a write whose new record no
    // longer names the stored Slot MUST delete that key if it still names the record. A slot
    // key dies with its owner's lease: an adopted in-flight record keeps naming its slot
    // without holding it (it runs slotless until it ends).

    Task<Versioned<InstanceRecord>?> GetInstanceAsync(string id, CancellationToken ct);

    /// <summary>Instance records, optionally of one host and one fence generation (0 = any).</summary>
    Task<IReadOnlyList<Versioned<InstanceRecord>>> ListInstancesAsync(string? host, long generation, CancellationToken ct);

    /// <summary>Claims an instance record; same rules as <see cref="TryClaimHostAsync"/>.</summary>
    Task<ClaimResult<InstanceRecord>> TryClaimInstanceAsync(DaemonLease lease, string id, long expectedRevision, InstanceRecord? update, CancellationToken ct);

    /// <summary>Owned write of an instance record; with <paramref name="release"/> the owner key is deleted in the same transaction.</summary>
    Task<WriteResult> UpdateInstanceAsync(Ownership owner, InstanceRecord update, long expectedRevision, bool release, CancellationToken ct);

    /// <summary>
    /// Retention: deletes a terminal instance record only if it is still at
    /// <paramref name="expectedRevision"/> and has no owner (any daemon may call it; a lost
    /// race is <see cref="WriteStatus.Conflict"/>, an absent record <see cref="WriteStatus.NotFound"/>).
    /// A record that is not terminal MUST NOT be deleted (<see cref="WriteStatus.Conflict"/>).
    /// </summary>
    Task<WriteResult> DeleteInstanceIfAsync(string id, long expectedRevision, CancellationToken ct);

    /// <summary>Deletes the owner key if it is still the caller's; otherwise does nothing.</summary>
    Task ReleaseAsync(Ownership owner, CancellationToken ct);

    /// <summary>The owner (daemon id) of a record, or null.</summary>
    Task<string?> GetOwnerAsync(RecordKey key, CancellationToken ct);

    // ---- reading everything, watching ----

    /// <summary>Everything at one revision: the starting point of a watch.</summary>
    Task<StoreSnapshot> ReadSnapshotAsync(CancellationToken ct);

    /// <summary>
    /// Every change after <paramref name="afterRevision"/>, in revision order, until
    /// <paramref name="ct"/> is cancelled. MUST throw <see cref="WatchCompactedException"/> when that
    /// revision is no longer available (read a snapshot and watch again from it).
    /// </summary>
    IAsyncEnumerable<StoreChange> WatchAsync(long afterRevision, CancellationToken ct);
}
