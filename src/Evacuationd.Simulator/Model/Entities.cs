namespace Evacuationd.Simulator.Model;

// Mutable model state. Only touched by SimulatedCloud under its lock.

internal sealed class SimHost
{
    public required string Name { get; init; }
    public required int Number { get; init; }
    public required string ServiceUuid { get; init; }
    public required string HypervisorUuid { get; init; }
    public bool Powered { get; set; } = true;
    public DateTimeOffset? PoweredOffAt { get; set; }
    public DateTimeOffset PoweredOnAt { get; set; }
    public long PowerEpoch { get; set; }
    public bool ForcedDown { get; set; }
    public bool Disabled { get; set; }
    public string? DisabledReason { get; set; }
    public DateTimeOffset? LastServiceUpdate { get; set; }
}

internal sealed class SimInstance
{
    public required string Uuid { get; init; }
    public required long Sequence { get; init; }
    public required string Name { get; set; }
    public required string TenantId { get; init; }
    public required string UserId { get; init; }
    public required string ImageId { get; init; }
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; set; }
    public DateTimeOffset? LaunchedAt { get; set; }
    public string? Host { get; set; }
    public string VmState { get; set; } = VmStates.Active;
    public string? TaskState { get; set; }
    public int PowerState { get; set; } = PowerStates.Running;
    public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);
    public List<string> Tags { get; init; } = [];
    public Dictionary<string, string> FlavorExtraSpecs { get; init; } = new(StringComparer.Ordinal);
    public bool Locked { get; set; }
    public string? LockedReason { get; set; }
    public InstanceFault? Fault { get; set; }
    public bool Deleted { get; set; }

    /// <summary>Host chosen by the scheduler for in-flight work (counted as load there).</summary>
    public string? PendingHost { get; set; }

    /// <summary>The evacuation in flight, from the accepted call until it ends.</summary>
    public EvacuationJob? ActiveEvacuation { get; set; }

    public void Touch(DateTimeOffset at) => Updated = at;
}

internal sealed class SimMigration
{
    public required int Id { get; init; }
    public required string Uuid { get; init; }
    public required string InstanceUuid { get; init; }
    public required string SourceCompute { get; init; }
    public required string UserId { get; init; }
    public required string ProjectId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string MigrationType { get; init; } = "evacuation";
    public string Status { get; set; } = MigrationStatuses.Accepted;
    public string? DestCompute { get; set; }
    public string? DestHost { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }

    public void Set(string status, DateTimeOffset at)
    {
        Status = status;
        UpdatedAt = at;
    }
}

internal sealed class EvacuationJob
{
    public required SimInstance Instance { get; init; }
    public required SimMigration Migration { get; init; }
    public required string Source { get; init; }
    public string? RequestedHost { get; init; }
    public required string FinalVmState { get; init; }
    public string? Destination { get; set; }

    /// <summary>True while the job occupies one of the conductor's rebuild slots.</summary>
    public bool Running { get; set; }

    /// <summary>Set when a second evacuate of the same instance was accepted while this one ran.</summary>
    public bool Duplicated { get; set; }

    /// <summary>Fault injection: the scheduler will find no host at 0.2 R.</summary>
    public bool InjectNoValidHost { get; set; }

    /// <summary>Fault injection: the rebuild fails at R (migration error, instance error, host unchanged).</summary>
    public bool InjectRebuildError { get; set; }
}

internal sealed class SimToken
{
    public required string Id { get; init; }
    public required IReadOnlyList<string> Methods { get; init; }
    public required string UserId { get; init; }
    public required string UserName { get; init; }
    public string? ProjectId { get; init; }
    public string? ProjectName { get; init; }
    public string? ApplicationCredentialId { get; init; }
    public required DateTimeOffset IssuedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
}

internal static class VmStates
{
    public const string Active = "active";
    public const string Building = "building";
    public const string Stopped = "stopped";
    public const string Error = "error";
    public const string Paused = "paused";
    public const string Suspended = "suspended";
    public const string ShelvedOffloaded = "shelved_offloaded";
    public const string Shelved = "shelved";
    public const string Rescued = "rescued";
    public const string Resized = "resized";
    public const string SoftDeleted = "soft-delete";

    /// <summary>Shown only for a deleted server, in a changes-since listing.</summary>
    public const string Deleted = "deleted";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        Active, Building, Stopped, Error, Paused, Suspended, ShelvedOffloaded, Shelved, Rescued, Resized, SoftDeleted,
    };
}

internal static class TaskStates
{
    public const string Rebuilding = "rebuilding";
    public const string RebuildBlockDeviceMapping = "rebuild_block_device_mapping";
    public const string RebuildSpawning = "rebuild_spawning";
    public const string Scheduling = "scheduling";
}

internal static class PowerStates
{
    public const int NoState = 0;
    public const int Running = 1;
    public const int Paused = 3;
    public const int Shutdown = 4;
    public const int Suspended = 7;

    public static int For(string vmState) => vmState switch
    {
        VmStates.Active => Running,
        VmStates.Paused => Paused,
        VmStates.Suspended => Suspended,
        VmStates.Stopped or VmStates.Shelved or VmStates.ShelvedOffloaded => Shutdown,
        VmStates.Building => NoState,
        _ => Running,
    };
}

internal static class MigrationStatuses
{
    public const string Accepted = "accepted";
    public const string PreMigrating = "pre-migrating";
    public const string Done = "done";
    public const string Completed = "completed";
    public const string Error = "error";
    public const string Failed = "failed";
}
