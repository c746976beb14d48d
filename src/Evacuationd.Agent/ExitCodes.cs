namespace Evacuationd.Agent;

/// <summary>evacuationd-agent's exit codes (evacctl's, with the gate's meaning).</summary>
internal static class ExitCodes
{
    /// <summary>Done: for <c>gate</c>, nova-compute may start; for <c>run</c>, stopped by a signal.</summary>
    public const int Success = 0;

    /// <summary><c>gate</c>: a daemon answered, but the gate stayed closed (or the guard is not clean).</summary>
    public const int Closed = 1;

    /// <summary>Bad command line or configuration.</summary>
    public const int Usage = 2;

    /// <summary><c>gate</c>: no daemon could be reached: closed, fail safe.</summary>
    public const int Unreachable = 3;
}
