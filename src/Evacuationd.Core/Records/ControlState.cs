using System.Collections.Immutable;

namespace Evacuationd.Core.Records;

/// <summary>
/// The installation-wide switches, in one record so that every change to them is one
/// compare-and-swap: the global hold, and the fencings accepted recently (the blast-radius
/// window). A fence report that opens a new fencing commits its host record and this record
/// together, so two daemons cannot both let a fencing through a full window.
/// </summary>
public sealed record ControlState
{
    public static readonly ControlState Initial = new();

    /// <summary>Automatic evacuation paused everywhere (evacctl hold).</summary>
    public bool Held { get; init; }
    public string? HeldReason { get; init; }
    public string? HeldBy { get; init; }
    public DateTimeOffset? HeldAt { get; init; }

    /// <summary>Fencings accepted within the blast-radius window (older ones are pruned at each write).</summary>
    public ImmutableList<RecentFencing> Recent { get; init; } = [];
}

/// <summary>One accepted fencing, for the blast-radius window.</summary>
public sealed record RecentFencing(string Host, long Generation, DateTimeOffset At);

public enum OperatorAction
{
    /// <summary>Stop a record that has no attempt in flight (one in flight ends as Nova ends it, then cancelled).</summary>
    Cancel,
    /// <summary>Give a failed, skipped or cancelled record new attempts.</summary>
    Retry,
}

/// <summary>
/// An operator's request on an instance record. Only a record's owner may change the record
/// (S3), so the request is stored apart and applied by whichever daemon drives the record.
/// </summary>
public sealed record OperatorRequest(string RecordId, OperatorAction Action, string Reason, string By, DateTimeOffset At);
