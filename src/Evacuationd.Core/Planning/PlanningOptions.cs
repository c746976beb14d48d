namespace Evacuationd.Core.Planning;

/// <summary>Which instances of a fenced host are evacuated.</summary>
public enum EvacuableMode
{
    /// <summary>Every instance Nova can evacuate.</summary>
    All,
    /// <summary>Instances whose server metadata has <see cref="EvacuableFilterOptions.Key"/>.</summary>
    Metadata,
    /// <summary>Instances whose flavor has the extra spec <see cref="EvacuableFilterOptions.Key"/>.</summary>
    FlavorExtraSpec,
    /// <summary>Instances whose image has the property <see cref="EvacuableFilterOptions.Key"/>.</summary>
    ImageProperty,
    /// <summary>Instances tagged <see cref="EvacuableFilterOptions.Key"/>.</summary>
    Tag,
}

public sealed class EvacuableFilterOptions
{
    /// <summary>Default <see cref="EvacuableMode.All"/>.</summary>
    public EvacuableMode Mode { get; set; } = EvacuableMode.All;

    /// <summary>Metadata key, extra spec, image property or tag. Default "evacuable".</summary>
    public string Key { get; set; } = "evacuable";

    /// <summary>
    /// Value the key must have (case-insensitive) for metadata, extra spec and image
    /// property; empty means "present with any value". Default "true".
    /// </summary>
    public string Value { get; set; } = "true";
}

public sealed class PlanningOptions
{
    public EvacuableFilterOptions Evacuable { get; set; } = new();

    /// <summary>Server metadata key holding an integer priority (higher first). Default "evacuation_priority".</summary>
    public string PriorityMetadataKey { get; set; } = "evacuation_priority";

    /// <summary>Also disable the fenced host's nova-compute service, with a reason. Default true.</summary>
    public bool DisableOnFence { get; set; } = true;

    /// <summary>Failed planning rounds (Nova unreachable, ...) before the fencing fails. Default 10.</summary>
    public int MaxPlanningAttempts { get; set; } = 10;

    /// <summary>Backoff between planning rounds; doubles each time. Default 2 s.</summary>
    public TimeSpan PlanningBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound of that backoff. Default 30 s.</summary>
    public TimeSpan PlanningBackoffMax { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate(string section)
    {
        if (Evacuable.Mode != EvacuableMode.All && string.IsNullOrWhiteSpace(Evacuable.Key))
        {
            yield return $"{section}:Evacuable:Key is required when Evacuable:Mode is {Evacuable.Mode}.";
        }
        if (MaxPlanningAttempts < 1)
        {
            yield return $"{section}:MaxPlanningAttempts must be at least 1 (got {MaxPlanningAttempts}).";
        }
        if (PlanningBackoff < TimeSpan.Zero || PlanningBackoffMax < PlanningBackoff)
        {
            yield return $"{section}:PlanningBackoff must be >= 0 and <= PlanningBackoffMax.";
        }
    }
}
