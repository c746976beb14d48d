using Evacuationd.Core.Records;

namespace Evacuationd.Core.Planning;

/// <summary>
/// S6: many hosts fenced at once (a partition, a rack power event) look like a failure of
/// the fencing path or of the network rather than of hosts; past a threshold, automatic
/// evacuation of further hosts is held until an operator confirms. Pure.
/// </summary>
public static class BlastRadius
{
    /// <summary>
    /// Whether a new fencing of <paramref name="host"/> at <paramref name="now"/> is held, why,
    /// and the control record to commit with it (the window with this fencing added, pruned).
    /// </summary>
    /// <param name="computeHosts">How many compute hosts the cloud has (null if unknown: the share rule is skipped).</param>
    public static (bool Held, string Reason, ControlState Control) Decide(ControlState control, string host, long generation, DateTimeOffset now, int? computeHosts, PolicyOptions policy)
    {
        var since = now - policy.Window;
        var recent = control.Recent.Where(f => f.At > since && f.Host != host).ToList();
        var next = control with { Recent = [.. recent, new RecentFencing(host, generation, now)] };
        var count = recent.Count + 1;
        if (control.Held)
        {
            return (true, $"held: automatic evacuation is paused everywhere (by {control.HeldBy ?? "an operator"}: {control.HeldReason}); `evacctl confirm {host}` or `evacctl resume`", next);
        }
        if (count > policy.MaxHostsInWindow)
        {
            return (true, $"held by the blast-radius guard: {count} hosts fenced within {policy.Window} (more than {policy.MaxHostsInWindow}); this looks like a partition or a rack failure, not {count} host failures. Check, then `evacctl confirm {host}` or `evacctl resume`", next);
        }
        // A single host failing is never a blast: the share rule needs two fencings or more.
        if (count > 1 && computeHosts is > 0 && count * 100.0 / computeHosts.Value > policy.MaxSharePercent)
        {
            return (true, $"held by the blast-radius guard: {count} of {computeHosts} compute hosts ({count * 100.0 / computeHosts.Value:0.#}%) fenced within {policy.Window} (more than {policy.MaxSharePercent}%). Check, then `evacctl confirm {host}` or `evacctl resume`", next);
        }
        return (false, "", next);
    }
}
