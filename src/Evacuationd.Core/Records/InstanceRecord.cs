using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Evacuationd.Core.Records;

/// <summary>
/// The migration-style record of one instance's evacuation for one fencing of its host.
/// Immutable: every change makes a new value through <see cref="MoveTo"/> or <see cref="Note"/>,
/// which also append to the bounded <see cref="History"/>.
/// </summary>
public sealed record InstanceRecord
{
    /// <summary>Stable id, derived from host, generation and instance (see <see cref="RecordIds"/>).</summary>
    public required string Id { get; init; }
    public required string InstanceUuid { get; init; }
    public string InstanceName { get; init; } = "";
    /// <summary>The fenced host the instance was on.</summary>
    public required string SourceHost { get; init; }
    /// <summary>The fencing of <see cref="SourceHost"/> this record belongs to.</summary>
    public required long FenceGeneration { get; init; }
    [JsonIgnore]
    public string EvacuationId => RecordIds.EvacuationId(SourceHost, FenceGeneration);

    public RecordState State { get; init; } = RecordState.Accepted;
    /// <summary>When <see cref="State"/> was entered; per-state deadlines count from here.</summary>
    public DateTimeOffset StateSince { get; init; }
    /// <summary>Reason of the latest transition, in words an operator can act on.</summary>
    public string Reason { get; init; } = "";
    /// <summary>The last error seen (Nova's message, a timeout), if any.</summary>
    public string? Error { get; init; }

    /// <summary>Where Nova rebuilt the instance, once known.</summary>
    public string? DestinationHost { get; init; }
    /// <summary>Target host asked of Nova; null lets Nova's scheduler choose.</summary>
    public string? RequestedDestination { get; init; }

    /// <summary>Number of the current (or last) attempt; 0 before the first.</summary>
    public int Attempt { get; init; }
    /// <summary>
    /// Attempts made before the last operator retry: the record may make
    /// <c>Workflow:MaxAttempts</c> more after it.
    /// </summary>
    public int AttemptBase { get; init; }
    /// <summary>
    /// The global in-flight slot this record holds while an attempt may run in Nova (the
    /// store takes and frees the slot key with the record's writes), or null.
    /// </summary>
    public int? Slot { get; init; }
    /// <summary>When the current attempt was recorded, before its evacuate call.</summary>
    public DateTimeOffset? AttemptStartedAt { get; init; }
    /// <summary>Nova's request id of the current attempt's evacuate call, once answered.</summary>
    public string? AttemptRequestId { get; init; }
    /// <summary>
    /// Newest evacuation migration id of this instance that Nova showed before the current
    /// attempt began. A migration with a larger id belongs to this attempt: that is how a
    /// successor learns whether the call reached Nova (S4).
    /// </summary>
    public long BaselineMigrationId { get; init; }
    /// <summary>Set when the current attempt's call ended without a definite answer.</summary>
    public DateTimeOffset? OutcomeUnknownSince { get; init; }
    /// <summary>Earliest time of the next attempt (backoff), while <see cref="RecordState.Retrying"/>.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Higher goes first.</summary>
    public int Priority { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public ImmutableList<Transition> History { get; init; } = [];

    /// <summary>An operator asked to cancel; honoured when no attempt is in flight.</summary>
    public bool CancelRequested { get; init; }
    /// <summary>
    /// How many times this record was left unfinished by its owner (the owner died, or its
    /// runner failed) and taken up again: the poison guard parks it past a limit.
    /// </summary>
    public int Adoptions { get; init; }
    /// <summary>The daemon that claimed the record last.</summary>
    public string? LastOwner { get; init; }
    /// <summary>The lease under which <see cref="LastOwner"/> claimed it.</summary>
    public long LastOwnerLease { get; init; }
    /// <summary>True when the last owner handed the record over cleanly (graceful stop).</summary>
    public bool HandedOver { get; init; }

    [JsonIgnore]
    public bool IsTerminal => State.IsTerminal();

    /// <summary>A new value in state <paramref name="to"/>, with the transition in its history.</summary>
    public InstanceRecord MoveTo(RecordState to, string reason, DateTimeOffset now, string daemon, string? requestId = null) =>
        this with
        {
            State = to,
            StateSince = to == State ? StateSince : now,
            Reason = reason,
            UpdatedAt = now,
            History = Records.History.Append(History, new Transition(now, State.Name(), to.Name(), reason, daemon, Attempt, requestId)),
        };

    /// <summary>A new value in the same state with a history note (e.g. an unknown call outcome).</summary>
    public InstanceRecord Note(string reason, DateTimeOffset now, string daemon, string? requestId = null) =>
        this with
        {
            Reason = reason,
            UpdatedAt = now,
            History = Records.History.Append(History, new Transition(now, State.Name(), State.Name(), reason, daemon, Attempt, requestId)),
        };
}
