using Evacuationd.Chaos;

namespace Evacuationd.Chaos.Tests;

/// <summary>The figures read from the daemons' own JSON log lines.</summary>
public sealed class DaemonLogsTests : IDisposable
{
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"chaos-log-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_log);

    [Fact]
    public void EventsAreCountedByKindAndRefusedWritesByReason()
    {
        File.WriteAllLines(_log,
        [
            "",
            "===== chaos: start 1 of d1 at 2026-11-23T16:47:00Z",
            """{"@t":"2026-11-23T16:49:26Z","@m":"refused","@l":"Warning","Status":"Conflict","Detail":"the record changed during the write","EventId":{"Id":212,"Name":"WriteRefused"}}""",
            """{"@t":"2026-11-23T16:49:27Z","@m":"refused","@l":"Warning","Status":"Conflict","Detail":"the record changed during the write","EventId":{"Id":212,"Name":"WriteRefused"}}""",
            """{"@t":"2026-11-23T16:49:28Z","@m":"refused","@l":"Warning","Status":"NotOwner","Detail":"has no owner","EventId":{"Id":212,"Name":"WriteRefused"}}""",
            """{"@t":"2026-11-23T16:49:17Z","@m":"lost","@l":"Warning","EventId":{"Id":100,"Name":"LeaseLost"}}""",
            """{"@t":"2026-11-23T16:49:18Z","@m":"claimed","@l":"Information","EventId":{"Id":210,"Name":"Claimed"}}""",
            """{"@t":"2026-11-23T16:49:19Z","@m":"no event id","@l":"Information"}""",
            "{ not json",
        ]);

        var counts = DaemonLogs.Count([_log, _log + ".missing"]);

        Assert.Equal(3, counts.Count);
        Assert.Equal(2, counts.Single(c => c.Key.Contains("Conflict", StringComparison.Ordinal)).Value);
        Assert.Equal(1, counts.Single(c => c.Key.Contains("NotOwner", StringComparison.Ordinal)).Value);
        Assert.Equal(1, counts["leases lost (renewals late or refused)"]);
    }
}
