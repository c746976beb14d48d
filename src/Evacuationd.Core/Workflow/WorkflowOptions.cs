namespace Evacuationd.Core.Workflow;

/// <summary>Bounds of the per-instance workflow (S5: nothing waits forever).</summary>
public sealed class WorkflowOptions
{
    /// <summary>Attempts per record before it ends failed. Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How often an owner looks at Nova while waiting for it. Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Backoff before the second attempt; doubles per attempt. Default 10 s.</summary>
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Upper bound of the backoff. Default 2 min.</summary>
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long Nova must show no trace of an attempt (no new evacuation migration, no task)
    /// before the workflow concludes that the evacuate call never reached Nova and starts a
    /// new attempt. Counted from the latest of: the attempt's start, the current owner's
    /// claim, the moment the call's outcome became unknown. Must exceed the evacuate call's
    /// own timeout. Default 60 s.
    /// </summary>
    public TimeSpan CallSettle { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long Nova may take to rebuild one instance before the record fails. Default 15 min.</summary>
    public TimeSpan RebuildTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a task_state set before our first attempt may take to clear. Default 5 min.</summary>
    public TimeSpan TaskStateTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Target host for every evacuation; null lets Nova's scheduler choose. Default null.</summary>
    public string? TargetHost { get; set; }

    /// <summary>
    /// A reserved pool: evacuate only to these hosts, spread by instance and attempt (a failed
    /// attempt tries the next host). Ignored when <see cref="TargetHost"/> is set. Default empty.
    /// </summary>
    public List<string> ReservedHosts { get; set; } = [];

    /// <summary>The host to ask Nova for, for one attempt of one record; null = Nova's scheduler.</summary>
    public string? TargetFor(string recordId, int attempt) =>
        TargetHost ?? (ReservedHosts.Count == 0 ? null : ReservedHosts[(int)((Backoff.StableHash(recordId, 0) + (uint)attempt) % (uint)ReservedHosts.Count)]);

    /// <summary>Every problem with these values, by key (empty when valid).</summary>
    public IEnumerable<string> Validate(string section)
    {
        if (MaxAttempts is < 1 or > 100)
        {
            yield return $"{section}:MaxAttempts must be between 1 and 100 (got {MaxAttempts}).";
        }
        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"{section}:PollInterval must be positive (got {PollInterval}).";
        }
        if (BackoffBase < TimeSpan.Zero || BackoffMax < BackoffBase)
        {
            yield return $"{section}:BackoffBase must be >= 0 and <= BackoffMax (got {BackoffBase} and {BackoffMax}).";
        }
        if (CallSettle <= PollInterval)
        {
            yield return $"{section}:CallSettle must exceed PollInterval (got {CallSettle} and {PollInterval}).";
        }
        if (RebuildTimeout <= CallSettle)
        {
            yield return $"{section}:RebuildTimeout must exceed CallSettle (got {RebuildTimeout} and {CallSettle}).";
        }
        foreach (var h in ReservedHosts.Where(h => !Records.RecordIds.IsValidHostName(h)))
        {
            yield return $"{section}:ReservedHosts: '{h}' is not a valid compute host name.";
        }
        if (TaskStateTimeout <= TimeSpan.Zero)
        {
            yield return $"{section}:TaskStateTimeout must be positive (got {TaskStateTimeout}).";
        }
    }
}
