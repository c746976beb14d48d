using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Decisions;

/// <summary>What one start-gate attempt concluded.</summary>
internal enum GateStep
{
    /// <summary>nova-compute may start.</summary>
    Open,

    /// <summary>Not now; ask again after the poll interval.</summary>
    Closed,

    /// <summary>The daemon would open, but the guard ran on an older state: run it again at once.</summary>
    Recheck,
}

/// <summary>The start gate's verdict for one attempt, pure.</summary>
internal sealed record GateDecision(GateStep Step, string Reason)
{
    /// <summary>
    /// Open only when the daemon says so, the local guard is clean, and the check-in the
    /// guard worked from showed a fencing in which no further evacuate call can be made
    /// (<see cref="HostStates.EvacuationsSettled"/>): otherwise an instance evacuated after
    /// that check-in could still run here unseen. The daemon's answer alone is not enough.
    /// </summary>
    public static GateDecision Decide(Host? checkedIn, bool guardClean, StartGateResponse answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var said = answer.Reason.Length > 0 ? answer.Reason : "(no reason given)";
        if (!guardClean)
        {
            return new(GateStep.Closed, "the split-brain guard is not clean: an evacuated guest may still run here");
        }

        if (!answer.MayStart)
        {
            var pending = answer.PendingRecords > 0 ? $" ({answer.PendingRecords} record(s) pending)" : string.Empty;
            return new(GateStep.Closed, $"the daemon says not yet: {said}{pending}");
        }

        if (!HostStates.EvacuationsSettled(checkedIn))
        {
            return new(GateStep.Recheck, $"the daemon says yes, but the guard worked from a check-in while the fencing was {HostStates.Describe(checkedIn)}");
        }

        return new(GateStep.Open, said);
    }
}
