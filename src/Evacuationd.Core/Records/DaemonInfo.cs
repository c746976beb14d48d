namespace Evacuationd.Core.Records;

/// <summary>A live daemon as registered in the store, bound to its lease.</summary>
public sealed record DaemonInfo(
    string Id,
    string Version,
    string Address,
    DateTimeOffset StartedAt)
{
    /// <summary>The daemon's lease, filled in when read from the store.</summary>
    public long LeaseId { get; init; }
    /// <summary>When the lease expires unless renewed, as the store last saw it.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }
}
