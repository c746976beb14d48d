using Evacuationd.Core.Records;

namespace Evacuationd.Core.Store;

/// <summary>A stored value and the store revision of its last change (etcd's mod_revision).</summary>
public sealed record Versioned<T>(T Value, long Revision);

/// <summary>Which kind of record a key names.</summary>
public enum RecordKind
{
    Host,
    Instance,
}

/// <summary>Identifies an ownable record: a host fencing (by host name) or an instance record (by id).</summary>
public readonly record struct RecordKey(RecordKind Kind, string Id)
{
    public static RecordKey Host(string host) => new(RecordKind.Host, host);
    public static RecordKey Instance(string id) => new(RecordKind.Instance, id);
    public override string ToString() => $"{(Kind == RecordKind.Host ? "host" : "instance")}/{Id}";
}

/// <summary>A daemon's lease: everything the daemon owns is bound to it.</summary>
public sealed record DaemonLease(string DaemonId, long LeaseId, TimeSpan Ttl);

/// <summary>Proof of ownership of one record: guarded writes compare all three parts (S3).</summary>
public sealed record Ownership(RecordKey Key, string DaemonId, long LeaseId);

/// <summary>Answer of a lease keepalive.</summary>
/// <param name="Alive">False when the store no longer has the lease: everything bound to it is gone.</param>
/// <param name="Ttl">Remaining time to live the store granted, when alive.</param>
public readonly record struct KeepAliveResult(bool Alive, TimeSpan Ttl);

public enum WriteStatus
{
    /// <summary>Committed.</summary>
    Ok,
    /// <summary>The writer does not own the record (any more): another owner, or none.</summary>
    NotOwner,
    /// <summary>The record changed since the expected revision (or already exists, for a create).</summary>
    Conflict,
    /// <summary>The writer's lease is gone: it owns nothing and must stop all work.</summary>
    LeaseLost,
    /// <summary>The record does not exist.</summary>
    NotFound,
}

/// <summary>Result of a write. Lost races are results, not exceptions.</summary>
public sealed record WriteResult(WriteStatus Status, long Revision = 0, string? Detail = null)
{
    public bool Ok => Status == WriteStatus.Ok;
}

public enum ClaimStatus
{
    /// <summary>The caller owns the record now (owner key created with its lease).</summary>
    Claimed,
    /// <summary>Someone owns it already (<see cref="ClaimResult{T}.CurrentOwner"/>).</summary>
    OwnedByOther,
    /// <summary>The record changed since the expected revision; re-read and decide again.</summary>
    Conflict,
    /// <summary>No such record.</summary>
    NotFound,
    /// <summary>The caller's lease is gone.</summary>
    LeaseLost,
}

/// <summary>Result of a claim. On success, <see cref="Record"/> is the record as now stored.</summary>
public sealed record ClaimResult<T>(ClaimStatus Status, Versioned<T>? Record = null, Ownership? Ownership = null, string? CurrentOwner = null)
{
    public bool Claimed => Status == ClaimStatus.Claimed;
}

/// <summary>Everything in the store at one revision.</summary>
public sealed record StoreSnapshot(
    long Revision,
    IReadOnlyList<Versioned<HostRecord>> Hosts,
    IReadOnlyList<Versioned<InstanceRecord>> Instances,
    IReadOnlyDictionary<RecordKey, string> Owners,
    IReadOnlyList<DaemonInfo> Daemons)
{
    /// <summary>The global switches (null: never written, i.e. <see cref="ControlState.Initial"/>).</summary>
    public Versioned<ControlState>? Control { get; init; }

    /// <summary>Operator requests not applied yet, by record id.</summary>
    public IReadOnlyList<Versioned<OperatorRequest>> Requests { get; init; } = [];

    /// <summary>Taken in-flight slots: slot number -> record id.</summary>
    public IReadOnlyDictionary<int, string> Slots { get; init; } = new Dictionary<int, string>();
}

public enum ChangeKind
{
    HostPut,
    HostDeleted,
    InstancePut,
    InstanceDeleted,
    /// <summary>A record got an owner (<see cref="StoreChange.Owner"/>).</summary>
    OwnerPut,
    /// <summary>A record lost its owner: released, or the owner's lease expired.</summary>
    OwnerDeleted,
    DaemonPut,
    DaemonDeleted,
    /// <summary>The global switches changed (<see cref="StoreChange.Control"/>).</summary>
    ControlPut,
    /// <summary>An operator request was stored (<see cref="StoreChange.Request"/>).</summary>
    RequestPut,
    /// <summary>An operator request was applied and removed (<see cref="StoreChange.Key"/> names the record).</summary>
    RequestDeleted,
    /// <summary>An in-flight slot was taken (<see cref="StoreChange.Slot"/>, <see cref="StoreChange.Owner"/> = record id).</summary>
    SlotPut,
    /// <summary>An in-flight slot was freed (by the record's write or with its owner's lease).</summary>
    SlotDeleted,
}

/// <summary>One change seen by a watch, in revision order.</summary>
public sealed record StoreChange(
    long Revision,
    ChangeKind Kind,
    RecordKey? Key = null,
    Versioned<HostRecord>? Host = null,
    Versioned<InstanceRecord>? Instance = null,
    string? Owner = null,
    DaemonInfo? Daemon = null,
    Versioned<ControlState>? Control = null,
    Versioned<OperatorRequest>? Request = null,
    int? Slot = null);

/// <summary>The revision a watch asked for is no longer available: read a snapshot and watch from it.</summary>
public sealed class WatchCompactedException(long requested, long compacted)
    : Exception($"watch from revision {requested} is no longer possible: the store compacted up to {compacted}")
{
    public long Requested { get; } = requested;
    public long Compacted { get; } = compacted;
}

/// <summary>The store could not be reached or did not confirm a write in time; the outcome is unknown to the caller.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
