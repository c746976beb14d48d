using Evacuationd.Core.Records;

namespace Evacuationd.Core.Workflow;

/// <summary>What the owner of an instance record does next.</summary>
public abstract record InstanceStep
{
    private InstanceStep() { }

    /// <summary>Persist <paramref name="Next"/> (a transition or a note) and decide again.</summary>
    public sealed record Write(InstanceRecord Next) : InstanceStep;

    /// <summary>
    /// Persist <paramref name="Next"/> (state evacuating, the attempt recorded) and only after
    /// that is committed call evacuate, once, for this attempt (S4).
    /// </summary>
    public sealed record StartAttempt(InstanceRecord Next) : InstanceStep;

    /// <summary>Persist nothing; look at Nova again at <paramref name="Until"/>.</summary>
    public sealed record Wait(DateTimeOffset Until, string Why) : InstanceStep;

    /// <summary>The record is terminal: nothing left to do.</summary>
    public sealed record Finished : InstanceStep;
}
