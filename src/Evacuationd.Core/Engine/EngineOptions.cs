using Evacuationd.Core.Planning;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Engine;

/// <summary>How a daemon claims and drives work. Section "Engine" of the configuration.</summary>
public sealed class EngineOptions
{
    /// <summary>This daemon's id; empty means "host name + process id". Must be unique among live daemons.</summary>
    public string DaemonId { get; set; } = "";

    /// <summary>Lease time to live: a dead daemon's records are taken over within this plus a small margin. Default 10 s.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the lease is renewed; must be well under the TTL. Default 3 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A daemon does not start an evacuate call unless its lease is known valid for at least
    /// this long. Default 2 s.
    /// </summary>
    public TimeSpan LeaseSafetyMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Records (hosts and instances) one daemon drives at once. Default 64.</summary>
    public int MaxConcurrentRecords { get; set; } = 64;

    /// <summary>
    /// An unowned record is claimed at once by the daemon that rendezvous hashing prefers;
    /// the others claim it only after this grace. Default 1 s.
    /// </summary>
    public TimeSpan ClaimGrace { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Full re-read of the store besides the watch. Default 60 s.</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a graceful stop waits for steps to reach a checkpoint. Default 10 s.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After a runner failed unexpectedly, the record is not picked again by this daemon for this long. Default 5 s.</summary>
    public TimeSpan FailedRunnerCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Poison guard: a record taken over more often than this after its owner died (or its
    /// runner failed) is parked as failed. Default 5.
    /// </summary>
    public int MaxAdoptions { get; set; } = 5;

    /// <summary>After a start, a daemon's claim capacity grows from one record to the full cap over this time. Default 5 s.</summary>
    public TimeSpan ClaimRampUp { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Terminal instance records are deleted this long after their last change. Default 7 days.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often one daemon looks for records past <see cref="Retention"/>. Default 10 min.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>If Nova cannot be observed for this long, the record fails with the last error. Default 15 min.</summary>
    public TimeSpan NovaUnreachableLimit { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a release (`evacctl release-host`) waits for Nova to accept forced_down=false:
    /// Nova refuses until the host's restarted nova-compute cleaned up its `done` evacuation
    /// migrations. The agent's own release requests wait at most 5 s (it asks again every round). Default 20 s.
    /// </summary>
    public TimeSpan ReleaseWait { get; set; } = TimeSpan.FromSeconds(20);

    public WorkflowOptions Workflow { get; set; } = new();

    public PlanningOptions Planning { get; set; } = new();

    public PolicyOptions Policy { get; set; } = new();

    /// <summary>A copy of these options for one daemon of several in a process.</summary>
    public EngineOptions ForDaemon(string daemonId)
    {
        var copy = (EngineOptions)MemberwiseClone();
        copy.DaemonId = daemonId;
        return copy;
    }

    /// <summary>Every problem, by configuration key (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string section = "Engine")
    {
        var errors = new List<string>();
        if (LeaseTtl < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{section}:LeaseTtl must be at least 1 s (got {LeaseTtl}).");
        }
        if (KeepAliveInterval <= TimeSpan.Zero || KeepAliveInterval * 2 > LeaseTtl)
        {
            errors.Add($"{section}:KeepAliveInterval must be positive and at most half of LeaseTtl (got {KeepAliveInterval} with LeaseTtl {LeaseTtl}).");
        }
        if (LeaseSafetyMargin < TimeSpan.Zero || LeaseSafetyMargin >= LeaseTtl)
        {
            errors.Add($"{section}:LeaseSafetyMargin must be >= 0 and below LeaseTtl (got {LeaseSafetyMargin}).");
        }
        if (MaxConcurrentRecords < 1)
        {
            errors.Add($"{section}:MaxConcurrentRecords must be at least 1 (got {MaxConcurrentRecords}).");
        }
        if (ClaimGrace < TimeSpan.Zero)
        {
            errors.Add($"{section}:ClaimGrace must not be negative (got {ClaimGrace}).");
        }
        if (MaxAdoptions < 1)
        {
            errors.Add($"{section}:MaxAdoptions must be at least 1 (got {MaxAdoptions}).");
        }
        if (ClaimRampUp < TimeSpan.Zero)
        {
            errors.Add($"{section}:ClaimRampUp must not be negative (got {ClaimRampUp}).");
        }
        if (Retention < TimeSpan.FromMinutes(1) || RetentionSweepInterval <= TimeSpan.Zero)
        {
            errors.Add($"{section}:Retention must be at least 1 min and RetentionSweepInterval positive (got {Retention} and {RetentionSweepInterval}).");
        }
        if (ReleaseWait < TimeSpan.Zero)
        {
            errors.Add($"{section}:ReleaseWait must not be negative (got {ReleaseWait}).");
        }
        if (ResyncInterval <= TimeSpan.Zero)
        {
            errors.Add($"{section}:ResyncInterval must be positive (got {ResyncInterval}).");
        }
        if (DaemonId.Length > 128 || DaemonId.Any(c => char.IsWhiteSpace(c) || c == '/'))
        {
            errors.Add($"{section}:DaemonId must be at most 128 characters without spaces or '/' (got '{DaemonId}').");
        }
        errors.AddRange(Workflow.Validate($"{section}:Workflow"));
        errors.AddRange(Planning.Validate($"{section}:Planning"));
        errors.AddRange(Policy.Validate($"{section}:Policy"));
        return errors;
    }
}
