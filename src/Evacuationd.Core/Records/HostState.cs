namespace Evacuationd.Core.Records;

/// <summary>State of one fencing (fence generation) of a host.</summary>
public enum HostState
{
    /// <summary>Fencing acknowledged; forcing the service down and planning its instances.</summary>
    Planning,
    /// <summary>Held by the blast-radius guard or a global hold until an operator confirms.</summary>
    Held,
    /// <summary>Instance records exist; evacuations run.</summary>
    Evacuating,
    /// <summary>Every instance record ended done, skipped or cancelled.</summary>
    Done,
    /// <summary>Planning failed, or at least one instance record failed.</summary>
    Failed,
    /// <summary>The host was put back into service after its fencing ended (S7).</summary>
    Released,
}

public enum FenceSource
{
    FenceAgent,
    Operator,
}

public static class HostStates
{
    /// <summary>True when the fencing needs no more work from a daemon.</summary>
    public static bool IsTerminal(this HostState s) =>
        s is HostState.Done or HostState.Failed or HostState.Released;

    public static string Name(this HostState s) => s switch
    {
        HostState.Planning => "planning",
        HostState.Held => "held",
        HostState.Evacuating => "evacuating",
        HostState.Done => "done",
        HostState.Failed => "failed",
        HostState.Released => "released",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static string Name(this FenceSource s) => s switch
    {
        FenceSource.FenceAgent => "fence-agent",
        FenceSource.Operator => "operator",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };
}
