using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Evacuationd.Core.Records;

/// <summary>
/// The record of a host's latest fencing (one per host; a new fencing of a released host
/// replaces it with the next <see cref="FenceGeneration"/>). Instance records carry the
/// generation they belong to, so older fencings stay readable through them.
/// </summary>
public sealed record HostRecord
{
    /// <summary>Compute host name as Nova knows it.</summary>
    public required string Name { get; init; }
    public required long FenceGeneration { get; init; }
    [JsonIgnore]
    public string EvacuationId => RecordIds.EvacuationId(Name, FenceGeneration);

    public HostState State { get; init; } = HostState.Planning;
    public DateTimeOffset StateSince { get; init; }
    /// <summary>Reason of the latest transition.</summary>
    public string Reason { get; init; } = "";
    public string? Error { get; init; }

    public FenceSource Source { get; init; }
    public string Reporter { get; init; } = "";
    /// <summary>The reporter's idempotency key for this fencing, if it gave one.</summary>
    public string? EventId { get; init; }
    /// <summary>Why the reporter fenced the host (its words).</summary>
    public string FenceReason { get; init; } = "";
    /// <summary>When the reporter says the host was fenced.</summary>
    public DateTimeOffset FencedAt { get; init; }
    /// <summary>When the daemon committed the report.</summary>
    public DateTimeOffset ReportedAt { get; init; }

    /// <summary>Nova's id of the host's nova-compute service, once looked up.</summary>
    public string? ServiceId { get; init; }
    /// <summary>True once the service was forced down; instance records exist only after that (S1).</summary>
    public bool ForcedDown { get; init; }
    /// <summary>True once the instance records of this fencing were created.</summary>
    public bool Planned { get; init; }
    /// <summary>Failed planning rounds so far (Nova unreachable and the like).</summary>
    public int PlanningAttempts { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    /// <summary>Counts written when planning ends and when the fencing ends.</summary>
    public RecordCounts Counts { get; init; } = RecordCounts.Empty;

    public DateTimeOffset? PoweredOnAt { get; init; }
    public DateTimeOffset? ReleasedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public ImmutableList<Transition> History { get; init; } = [];

    [JsonIgnore]
    public bool IsTerminal => State.IsTerminal();

    public HostRecord MoveTo(HostState to, string reason, DateTimeOffset now, string daemon) =>
        this with
        {
            State = to,
            StateSince = to == State ? StateSince : now,
            Reason = reason,
            UpdatedAt = now,
            History = Records.History.Append(History, new Transition(now, State.Name(), to.Name(), reason, daemon)),
        };

    public HostRecord Note(string reason, DateTimeOffset now, string daemon) =>
        this with
        {
            Reason = reason,
            UpdatedAt = now,
            History = Records.History.Append(History, new Transition(now, State.Name(), State.Name(), reason, daemon)),
        };
}

/// <summary>How the instance records of one fencing are spread over states.</summary>
public sealed record RecordCounts(int Total, int Accepted, int InFlight, int Done, int Failed, int Skipped, int Cancelled)
{
    public static readonly RecordCounts Empty = new(0, 0, 0, 0, 0, 0, 0);

    [JsonIgnore]
    public int Terminal => Done + Failed + Skipped + Cancelled;

    /// <summary>
    /// True when the records of an ended fencing show a change that only an operator's retry
    /// makes: a record running again, or more records in an end state than at the fencing's
    /// end. Retention deleting ended records only lowers counts, and is no change.
    /// </summary>
    public bool RetriedSince(RecordCounts atEnd) =>
        Accepted > 0 || InFlight > 0
        || Done > atEnd.Done || Failed > atEnd.Failed || Skipped > atEnd.Skipped || Cancelled > atEnd.Cancelled;

    public static RecordCounts Of(IEnumerable<InstanceRecord> records)
    {
        int total = 0, accepted = 0, inFlight = 0, done = 0, failed = 0, skipped = 0, cancelled = 0;
        foreach (var r in records)
        {
            total++;
            switch (r.State)
            {
                case RecordState.Accepted: accepted++; break;
                case RecordState.Evacuating or RecordState.Rebuilding or RecordState.Retrying: inFlight++; break;
                case RecordState.Done: done++; break;
                case RecordState.Failed: failed++; break;
                case RecordState.Skipped: skipped++; break;
                case RecordState.Cancelled: cancelled++; break;
            }
        }
        return new RecordCounts(total, accepted, inFlight, done, failed, skipped, cancelled);
    }
}
