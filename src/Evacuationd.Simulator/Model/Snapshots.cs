namespace Evacuationd.Simulator.Model;

/// <summary>A fault recorded on an instance (shown by Nova while vm_state is error).</summary>
public sealed record InstanceFault(int Code, string Message, string Details, DateTimeOffset Created);

/// <summary>A point-in-time copy of an instance.</summary>
public sealed record InstanceSnapshot(
    string Id,
    string Name,
    string InstanceName,
    long Sequence,
    string TenantId,
    string UserId,
    string? Host,
    string VmState,
    string? TaskState,
    int PowerState,
    string Status,
    string? HostStatus,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> FlavorExtraSpecs,
    string ImageId,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    DateTimeOffset? LaunchedAt,
    bool Locked,
    string? LockedReason,
    InstanceFault? Fault);

/// <summary>A nova-compute service as os-services shows it.</summary>
public sealed record ServiceSnapshot(
    string Id,
    int NumericId,
    string Binary,
    string Host,
    string State,
    string Status,
    string? DisabledReason,
    bool ForcedDown,
    DateTimeOffset? UpdatedAt,
    string Zone);

/// <summary>A migration record as os-migrations shows it.</summary>
public sealed record MigrationSnapshot(
    int Id,
    string Uuid,
    string Status,
    string InstanceUuid,
    string MigrationType,
    string SourceCompute,
    string SourceNode,
    string? DestCompute,
    string? DestNode,
    string? DestHost,
    DateTimeOffset CreatedAt,
    DateTimeOffset? UpdatedAt,
    string UserId,
    string ProjectId);

/// <summary>A compute host of the simulation (power and service).</summary>
public sealed record HostSnapshot(
    string Name,
    bool Powered,
    string ServiceState,
    bool ForcedDown,
    string Status,
    string? DisabledReason,
    int Instances,
    string ServiceId,
    string HypervisorId,
    int Number);

/// <summary>An image known to the fake Glance.</summary>
public sealed record ImageSnapshot(string Id, string Name, IReadOnlyDictionary<string, string> Properties, DateTimeOffset CreatedAt);

/// <summary>One evacuate call answered by the simulated Nova.</summary>
public sealed record EvacuateCallRecord(
    DateTimeOffset At,
    string InstanceUuid,
    string? SourceHost,
    string? TargetHost,
    int StatusCode,
    string? RequestId,
    bool SourceForcedDown,
    string? SourceServiceState,
    bool Duplicate)
{
    /// <summary>The injected fault that answered this call (5xx, timeout) or replaced its answer
    /// (5xx-after, timeout with after, latency whose client gave up); null when none.</summary>
    public string? Fault { get; init; }

    /// <summary>When a fault replaced the answer after the model handled the call (<see cref="StatusCode"/>):
    /// the status the client got, 0 when it got none. Null otherwise.</summary>
    public int? AnsweredStatus { get; init; }
}

/// <summary>One request answered by the HTTP surface.</summary>
public sealed record RequestRecord(string RequestId, DateTimeOffset At, string Method, string Path, int StatusCode)
{
    /// <summary>Injected faults applied to the request ("latency", "5xx", "latency+timeout", ...), or null.
    /// <see cref="StatusCode"/> is then what the client got (0: no answer).</summary>
    public string? Fault { get; init; }
}

/// <summary>A host line of <see cref="SimStats"/>.</summary>
public sealed record HostStats(string Name, bool Powered, string ServiceState, bool ForcedDown, string Status);

/// <summary>Counters served by <c>GET /_sim/stats</c>.</summary>
public sealed record SimStats(
    IReadOnlyDictionary<string, int> EvacuateCalls,
    int EvacuateCallsTotal,
    int EvacuateRejected,
    int DuplicateEvacuations,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> InstancesByHost,
    IReadOnlyDictionary<string, int> InstancesByState,
    int ApiErrorsInjected,
    IReadOnlyList<HostStats> Hosts,
    IReadOnlyDictionary<string, int> EvacuateCallsByHost,
    bool ForcedDownBeforeEvacuate,
    int EvacuateCallsWithoutForcedDown)
{
    /// <summary>Injected faults by kind (<see cref="ApiErrorsInjected"/> is their total).</summary>
    public IReadOnlyDictionary<string, int> FaultsInjected { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>The most Nova (compute) requests ever being served at the same time.</summary>
    public int MaxConcurrentComputeRequests { get; init; }
}

/// <summary>A Keystone token as validated by the model.</summary>
public sealed record TokenInfo(
    string Token,
    IReadOnlyList<string> Methods,
    string UserId,
    string UserName,
    string? ProjectId,
    string? ProjectName,
    string? ApplicationCredentialId,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt);

/// <summary>Filter of <see cref="SimulatedCloud.ListMigrations"/>; null fields do not filter.</summary>
/// <remarks><c>ChangesSince</c> keeps migrations updated at or after it (never-updated ones are left out, as in Nova).</remarks>
public sealed record MigrationFilter(
    string? InstanceUuid = null,
    string? MigrationType = null,
    string? Host = null,
    string? Status = null,
    string? SourceCompute = null,
    DateTimeOffset? ChangesSince = null);

/// <summary>Filter of <see cref="SimulatedCloud.ListServers"/>; null fields do not filter.</summary>
/// <remarks><c>ChangesSince</c> keeps servers updated at or after it and, as in Nova, then
/// includes deleted servers (status DELETED, vm_state deleted).</remarks>
public sealed record ServerFilter(string? Host = null, string? ProjectId = null, string? Status = null, string? Name = null, DateTimeOffset? ChangesSince = null);

/// <summary>A boot request (POST /servers).</summary>
public sealed record BootRequest(
    string Name,
    string ImageId,
    string FlavorId,
    string TenantId,
    string UserId,
    IReadOnlyDictionary<string, string>? Metadata = null,
    IReadOnlyList<string>? Tags = null,
    string? Host = null);
