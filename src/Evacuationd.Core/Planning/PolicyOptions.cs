namespace Evacuationd.Core.Planning;

/// <summary>Installation-wide limits (S6 and friends). Section "Engine:Policy".</summary>
public sealed class PolicyOptions
{
    /// <summary>Blast radius: more than this many hosts fenced within <see cref="Window"/> holds the next ones. Default 3.</summary>
    public int MaxHostsInWindow { get; set; } = 3;

    /// <summary>
    /// Blast radius: more than this share (%) of the compute hosts fenced within <see cref="Window"/>
    /// (two hosts or more) holds the next ones. Default 50.
    /// </summary>
    public double MaxSharePercent { get; set; } = 50;

    /// <summary>The blast-radius window. Default 10 min.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Evacuations Nova may run at once, over all daemons (in-flight slots in the store); 0 = no limit. Default 40.</summary>
    public int MaxInFlightEvacuations { get; set; } = 40;

    /// <summary>Nova calls at once over all daemons (each live daemon gets its share); 0 = no limit. Default 32.</summary>
    public int MaxConcurrentNovaCalls { get; set; } = 32;

    /// <summary>Lock each server (with a reason) while it is evacuated, so users cannot race its recovery. Default false.</summary>
    public bool LockServers { get; set; }

    /// <summary>
    /// A compute node whose agent reports failed self-checks this many times in a row gets its
    /// nova-compute service disabled (never forced down, never evacuated: S1); 0 = never. Default 3.
    /// </summary>
    public int DisableAfterFailedSelfChecks { get; set; } = 3;

    public IEnumerable<string> Validate(string section)
    {
        if (MaxHostsInWindow < 1)
        {
            yield return $"{section}:MaxHostsInWindow must be at least 1 (got {MaxHostsInWindow}).";
        }
        if (MaxSharePercent is <= 0 or > 100)
        {
            yield return $"{section}:MaxSharePercent must be above 0 and at most 100 (got {MaxSharePercent}).";
        }
        if (Window <= TimeSpan.Zero)
        {
            yield return $"{section}:Window must be positive (got {Window}).";
        }
        if (MaxInFlightEvacuations < 0 || MaxConcurrentNovaCalls < 0)
        {
            yield return $"{section}:MaxInFlightEvacuations and {section}:MaxConcurrentNovaCalls must not be negative (0 = no limit).";
        }
        if (DisableAfterFailedSelfChecks < 0)
        {
            yield return $"{section}:DisableAfterFailedSelfChecks must not be negative (0 = never; got {DisableAfterFailedSelfChecks}).";
        }
    }
}
