using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Decisions;

/// <summary>What a host's fencing state (from CheckIn) means to the agent.</summary>
internal static class HostStates
{
    /// <summary>The fencing ended (every record terminal): DONE or FAILED, not yet released.</summary>
    public static bool FencingEnded(Host? host) => host is { State: HostState.Done or HostState.Failed };

    /// <summary>
    /// No further evacuate call can be made for this host's fencing: never fenced, fencing
    /// ended, or released. Only then is the check-in's list of evacuated instances final.
    /// An unknown state counts as "still running".
    /// </summary>
    public static bool EvacuationsSettled(Host? host) =>
        host is null || host.State is HostState.Done or HostState.Failed or HostState.Released;

    /// <summary>The fencing's id ("compute-01:1"), or its generation when the daemon gave no id.</summary>
    public static string Fencing(Host host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.EvacuationId.Length > 0 ? host.EvacuationId : $"{host.Name}:{host.FenceGeneration.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>"done", "evacuating", ...</summary>
    public static string StateName(Host host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.StateName.Length > 0 ? host.StateName : host.State.ToString();
    }

    /// <summary>"compute-01:1 evacuating", or "never fenced".</summary>
    public static string Describe(Host? host) => host is null ? "never fenced" : $"{Fencing(host)} {StateName(host)}";
}
