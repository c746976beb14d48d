using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Decisions;

/// <summary>Whether the agent asks the daemon to put its host back into service (--release).</summary>
internal enum ReleaseMode
{
    /// <summary>Ask as soon as the fencing ended and the guard is clean (the default).</summary>
    Auto,

    /// <summary>Never ask: an operator releases the host (evacctl release-host).</summary>
    Off,
}

/// <summary>Whether to call RequestRelease this round, and why (or why not).</summary>
internal sealed record ReleaseDecision(bool Request, string Why)
{
    /// <summary>
    /// Request a release only when the host's fencing ended (DONE or FAILED, not RELEASED),
    /// the guard ran this round, found the host clean and the daemon has that report, and
    /// releasing is on. The daemon checks again (S7); this only avoids asking in vain.
    /// </summary>
    public static ReleaseDecision Decide(Host? host, bool guardClean, bool guardReported, ReleaseMode mode)
    {
        if (host is null)
        {
            return new(false, "the host was never fenced");
        }

        if (host.State == HostState.Released)
        {
            return new(false, "the host is in service (released)");
        }

        if (!HostStates.FencingEnded(host))
        {
            return new(false, $"its fencing has not ended: {HostStates.Describe(host)}");
        }

        if (!guardClean)
        {
            return new(false, "the split-brain guard is not clean");
        }

        if (!guardReported)
        {
            return new(false, "the guard's report did not reach a daemon");
        }

        if (mode == ReleaseMode.Off)
        {
            return new(false, "--release off: an operator releases the host");
        }

        return new(true, $"the fencing {HostStates.Fencing(host)} ended ({HostStates.StateName(host)}) and no evacuated guest runs here");
    }
}
