namespace Evacuationd.Core.Compute;

/// <summary>
/// The compute port: the Nova calls the workflow needs (FACTS.md, "Nova"). Implemented over
/// HTTP by Evacuationd.Nova for real Nova and for evacsim alike.
/// Every call MUST be bounded in time. Read calls and the service updates are idempotent
/// and MAY be retried by the implementation. <see cref="EvacuateAsync"/> MUST NOT be retried
/// by the implementation: an unclear outcome is reported as <see cref="EvacuateOutcomeKind.Unknown"/>
/// and resolved by the workflow from Nova's migrations (S4).
/// Failures other than "not found" surface as <see cref="ComputeException"/>.
/// </summary>
public interface IComputeClient
{
    /// <summary>The nova-compute service of <paramref name="host"/>, or null if Nova has none.</summary>
    Task<ComputeService?> FindComputeServiceAsync(string host, CancellationToken ct);

    /// <summary>All nova-compute services (the blast-radius denominator).</summary>
    Task<IReadOnlyList<ComputeService>> ListComputeServicesAsync(CancellationToken ct);

    /// <summary>Sets forced_down=true on the service (2.53+). Idempotent.</summary>
    Task<ComputeService> ForceDownAsync(ComputeService service, CancellationToken ct);

    /// <summary>Disables the service with a reason. Idempotent.</summary>
    Task<ComputeService> DisableAsync(ComputeService service, string reason, CancellationToken ct);

    /// <summary>
    /// Returns a host to service (S7): forced_down=false, retrying Nova's 400 while `done`
    /// evacuation migrations remain (until the restarted nova-compute cleaned up, within the
    /// client's bound), then, with <paramref name="enable"/>, status enabled. Idempotent.
    /// </summary>
    Task<ComputeService> ReleaseServiceAsync(ComputeService service, bool enable, CancellationToken ct);

    /// <summary>Locks the server with a reason (the reason from 2.73), so users cannot race its recovery.</summary>
    Task LockAsync(string instanceUuid, string reason, CancellationToken ct);

    Task UnlockAsync(string instanceUuid, CancellationToken ct);

    /// <summary>os-resetState: sets vm_state ("error" or "active") and clears task_state.</summary>
    Task ResetStateAsync(string instanceUuid, string state, CancellationToken ct);

    /// <summary>Every server on the host, all tenants, all pages.</summary>
    Task<IReadOnlyList<ServerView>> ListServersOnHostAsync(string host, CancellationToken ct);

    /// <summary>The server, or null if Nova says it does not exist.</summary>
    Task<ServerView?> GetServerAsync(string instanceUuid, CancellationToken ct);

    /// <summary>The instance's evacuation migrations, newest first.</summary>
    Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsAsync(string instanceUuid, CancellationToken ct);

    /// <summary>
    /// Every evacuation migration whose source is <paramref name="sourceHost"/>, each with its
    /// instance, newest first, all pages: one read for all the records of a fenced host.
    /// </summary>
    Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsFromHostAsync(string sourceHost, CancellationToken ct);

    /// <summary>
    /// Servers of all tenants that Nova changed at or after <paramref name="since"/> (Nova's
    /// changes-since), all pages; deleted servers are left out. Each is shown as it is now.
    /// </summary>
    Task<IReadOnlyList<ServerView>> ListServersChangedSinceAsync(DateTimeOffset since, CancellationToken ct);

    /// <summary>One evacuate call, never repeated by the implementation.</summary>
    Task<EvacuateOutcome> EvacuateAsync(string instanceUuid, string? targetHost, CancellationToken ct);

    /// <summary>The image's properties (for an image-property evacuable filter).</summary>
    Task<IReadOnlyDictionary<string, string>> GetImagePropertiesAsync(string imageId, CancellationToken ct);
}

/// <summary>A nova-compute service as Nova shows it.</summary>
public sealed record ComputeService(
    string Id,
    string Host,
    bool Enabled,
    bool Up,
    bool ForcedDown,
    string? DisabledReason);

/// <summary>The fields of a Nova server the workflow decides on.</summary>
public sealed record ServerView
{
    public required string Id { get; init; }
    public string Name { get; init; } = "";
    /// <summary>Nova's status, e.g. ACTIVE, REBUILD, ERROR.</summary>
    public string Status { get; init; } = "";
    /// <summary>OS-EXT-SRV-ATTR:host.</summary>
    public string? Host { get; init; }
    /// <summary>OS-EXT-STS:vm_state, e.g. active, stopped, error, paused.</summary>
    public string VmState { get; init; } = "";
    /// <summary>OS-EXT-STS:task_state; null when Nova is not working on the server.</summary>
    public string? TaskState { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> FlavorExtraSpecs { get; init; } = new Dictionary<string, string>();
    public string? FlavorName { get; init; }
    public string? ImageId { get; init; }
    /// <summary>Properties of the server's image, filled only when a filter needs them.</summary>
    public IReadOnlyDictionary<string, string> ImageProperties { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool Locked { get; init; }
    /// <summary>The fault message Nova shows for a server in ERROR, if any.</summary>
    public string? Fault { get; init; }
}

/// <summary>One of Nova's migration rows (migration_type evacuation).</summary>
public sealed record MigrationView(
    long Id,
    string Status,
    string? SourceCompute,
    string? DestCompute,
    DateTimeOffset CreatedAt,
    DateTimeOffset? UpdatedAt)
{
    /// <summary>The migrated instance (os-migrations' instance_uuid).</summary>
    public string? InstanceUuid { get; init; }

    public static bool IsDone(string status) => status is "done" or "completed";
    public static bool IsFailed(string status) => status is "error" or "failed";
    public bool Done => IsDone(Status);
    public bool Failed => IsFailed(Status);
}

public enum EvacuateOutcomeKind
{
    /// <summary>Nova answered 200: the evacuation was accepted.</summary>
    Accepted,
    /// <summary>Nova answered with a 4xx: it started nothing.</summary>
    Rejected,
    /// <summary>No definite answer (timeout, connection lost, 5xx): Nova may or may not have started it.</summary>
    Unknown,
}

public sealed record EvacuateOutcome(EvacuateOutcomeKind Kind, string? RequestId, int? StatusCode, string? Message)
{
    public static EvacuateOutcome Accepted(string? requestId) => new(EvacuateOutcomeKind.Accepted, requestId, 200, null);
    public static EvacuateOutcome Rejected(int status, string message, string? requestId) => new(EvacuateOutcomeKind.Rejected, requestId, status, message);
    public static EvacuateOutcome Unknown(string message, string? requestId = null, int? status = null) => new(EvacuateOutcomeKind.Unknown, requestId, status, message);
}

/// <summary>A Nova or Keystone call that failed, with Nova's own message.</summary>
public sealed class ComputeException : Exception
{
    public ComputeException(string operation, string message, int? statusCode = null, string? requestId = null, bool transient = false, Exception? inner = null)
        : base($"{operation}: {message}", inner)
    {
        Operation = operation;
        NovaMessage = message;
        StatusCode = statusCode;
        RequestId = requestId;
        Transient = transient;
    }

    public string Operation { get; }
    public string NovaMessage { get; }
    public int? StatusCode { get; }
    public string? RequestId { get; }
    /// <summary>True when trying again later may succeed (timeouts, 5xx, connection errors).</summary>
    public bool Transient { get; }
}
