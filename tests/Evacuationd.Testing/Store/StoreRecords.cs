using Evacuationd.Core.Records;

namespace Evacuationd.Testing.Store;

/// <summary>Minimal valid records for store tests.</summary>
public static class StoreRecords
{
    public static readonly DateTimeOffset Epoch = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    public static HostRecord Host(string name, long generation = 1, string reason = "fenced") => new()
    {
        Name = name,
        FenceGeneration = generation,
        State = HostState.Planning,
        StateSince = Epoch,
        Reason = reason,
        Source = FenceSource.FenceAgent,
        Reporter = "fencer-1",
        FencedAt = Epoch,
        ReportedAt = Epoch,
        UpdatedAt = Epoch,
        History = [new Transition(Epoch, "", "planning", reason, "intake")],
    };

    /// <summary>An accepted record; <paramref name="suffix"/> makes the uuid and id unique within the host.</summary>
    public static InstanceRecord Instance(string host, string suffix, long generation = 1) => new()
    {
        Id = $"{host}:{generation}:{suffix}",
        InstanceUuid = $"{suffix}-0000-4000-8000-000000000000",
        InstanceName = $"vm-{suffix}",
        SourceHost = host,
        FenceGeneration = generation,
        State = RecordState.Accepted,
        StateSince = Epoch,
        Reason = "planned",
        CreatedAt = Epoch,
        UpdatedAt = Epoch,
        History = [new Transition(Epoch, "", "accepted", "planned", "planner")],
    };

    public static DaemonInfo Daemon(string id) => new(id, "0.1.0-test", $"https://{id}.example:7443", Epoch);
}
