using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Decisions;

/// <summary>An instance the daemon says was evacuated away, with its UUID parsed (null when the daemon sent something that is not a UUID).</summary>
internal sealed record Evacuated(EvacuatedInstance Instance, Guid? Uuid);

/// <summary>
/// The split-brain guard's decisions, pure: which local guests to destroy (exactly those
/// the daemon lists as evacuated away and that run here, nothing else), and whether the
/// host is clean (none of them runs here any more).
/// </summary>
internal static class GuardDecision
{
    public static IReadOnlyList<Evacuated> Parse(IEnumerable<EvacuatedInstance> evacuatedAway) =>
        evacuatedAway
            .Select(e => new Evacuated(e, Guid.TryParse(e.InstanceUuid, out var uuid) ? uuid : null))
            .GroupBy(e => e.Uuid?.ToString() ?? e.Instance.InstanceUuid, StringComparer.Ordinal)
            .Select(g => g.First())
            .ToList();

    /// <summary>The evacuated instances that run here: these, and only these, are destroyed.</summary>
    public static IReadOnlyList<Evacuated> ToDestroy(IReadOnlyList<Evacuated> evacuated, IReadOnlySet<Guid> running) =>
        evacuated.Where(e => e.Uuid is { } uuid && running.Contains(uuid)).ToList();

    /// <summary>
    /// Clean when every evacuated instance has a UUID (one that is not cannot be looked for)
    /// and none of them is among <paramref name="running"/> (a listing taken after the destroys).
    /// </summary>
    public static bool IsClean(IReadOnlyList<Evacuated> evacuated, IReadOnlySet<Guid> running) =>
        evacuated.All(e => e.Uuid is { } uuid && !running.Contains(uuid));
}
