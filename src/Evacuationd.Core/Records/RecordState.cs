namespace Evacuationd.Core.Records;

/// <summary>
/// State of one instance's evacuation, modelled on Nova's migration status.
/// Non-terminal: <see cref="Accepted"/>, <see cref="Evacuating"/>, <see cref="Rebuilding"/>,
/// <see cref="Retrying"/>. Terminal: <see cref="Done"/>, <see cref="Failed"/>,
/// <see cref="Skipped"/>, <see cref="Cancelled"/>.
/// </summary>
public enum RecordState
{
    /// <summary>Planned; nothing has been asked of Nova for this instance yet.</summary>
    Accepted,
    /// <summary>An attempt is recorded; the evacuate call is being made or its outcome is unknown.</summary>
    Evacuating,
    /// <summary>Nova accepted the evacuate call; it is rebuilding the instance.</summary>
    Rebuilding,
    /// <summary>The previous attempt ended without success in Nova; the next waits for its backoff.</summary>
    Retrying,
    /// <summary>Nova shows the instance on another host, its evacuation migration done.</summary>
    Done,
    /// <summary>Attempts exhausted or a permanent error; the reason says what to do.</summary>
    Failed,
    /// <summary>Nothing to do (not evacuable, deleted, already elsewhere); the reason says why.</summary>
    Skipped,
    /// <summary>An operator cancelled it while no attempt was in flight.</summary>
    Cancelled,
}

public static class RecordStates
{
    public static bool IsTerminal(this RecordState s) =>
        s is RecordState.Done or RecordState.Failed or RecordState.Skipped or RecordState.Cancelled;

    /// <summary>True while Nova may be working on an attempt of ours.</summary>
    public static bool IsInFlight(this RecordState s) =>
        s is RecordState.Evacuating or RecordState.Rebuilding;

    /// <summary>The lower-case name shown to operators and used in history.</summary>
    public static string Name(this RecordState s) => s switch
    {
        RecordState.Accepted => "accepted",
        RecordState.Evacuating => "evacuating",
        RecordState.Rebuilding => "rebuilding",
        RecordState.Retrying => "retrying",
        RecordState.Done => "done",
        RecordState.Failed => "failed",
        RecordState.Skipped => "skipped",
        RecordState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static bool TryParse(string? name, out RecordState state)
    {
        foreach (var s in Enum.GetValues<RecordState>())
        {
            if (string.Equals(s.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                state = s;
                return true;
            }
        }
        state = default;
        return false;
    }
}
