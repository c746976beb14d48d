using Evacuationd.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>Records, hosts and daemons the fake daemon serves.</summary>
internal static class CannedData
{
    public static readonly DateTimeOffset Base = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public const string DoneId = "compute-01:1:aaaa0001";
    public const string FailedId = "compute-01:1:bbbb0002";
    public const string RebuildingId = "compute-01:1:cccc0003";
    public const string SkippedId = "compute-01:1:dddd0004";
    public const string AcceptedId = "compute-04:2:eeee0005";
    public const string OlderId = "compute-04:1:eeee0006";
    public const string Web2Uuid = "eeee0005-0000-4000-8000-000000000005";

    public const string FailedReason =
        "attempts exhausted: Nova answered 409 Conflict three times: Cannot 'evacuate' instance while it is in task_state rebuilding";

    public static Timestamp At(int seconds) => Timestamp.FromDateTimeOffset(Base.AddSeconds(seconds));

    public static Transition Step(int seconds, string from, string to, string reason, string daemon = "daemon-a", uint attempt = 0, string requestId = "") =>
        new() { At = At(seconds), From = from, To = to, Reason = reason, Daemon = daemon, Attempt = attempt, RequestId = requestId };

    public static Record Record(string id, string name, string uuid, RecordState state, uint attempt, int updated)
    {
        var parts = id.Split(':');
        return new Record
        {
            Id = id,
            InstanceName = name,
            InstanceUuid = uuid,
            SourceHost = parts[0],
            FenceGeneration = ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            EvacuationId = $"{parts[0]}:{parts[1]}",
            State = state,
            StateName = state.ToString().ToLowerInvariant(),
            Attempt = attempt,
            MaxAttempts = 3,
            CreatedAt = At(0),
            UpdatedAt = At(updated),
            Revision = 100 + updated,
        };
    }

    public static List<Record> Records() =>
    [
        With(Record(DoneId, "web-1", "aaaa0001-0000-4000-8000-000000000001", RecordState.Done, 1, 30), r =>
        {
            r.DestinationHost = "compute-02";
            r.AttemptRequestId = "req-1111";
            r.Reason = "Nova shows the instance ACTIVE on compute-02";
            r.History.Add(Step(0, "", "accepted", "host compute-01 fenced by fence-agent"));
            r.History.Add(Step(1, "accepted", "evacuating", "attempt 1 recorded", attempt: 1));
            r.History.Add(Step(2, "evacuating", "rebuilding", "Nova accepted evacuate", attempt: 1, requestId: "req-1111"));
            r.History.Add(Step(30, "rebuilding", "done", "Nova shows the instance ACTIVE on compute-02", daemon: "daemon-b", attempt: 1, requestId: "req-1111"));
        }),
        With(Record(FailedId, "db-1", "bbbb0002-0000-4000-8000-000000000002", RecordState.Failed, 3, 40), r =>
        {
            r.Reason = FailedReason;
            r.Error = "409 Conflict";
            r.History.Add(Step(0, "", "accepted", "host compute-01 fenced by fence-agent"));
            r.History.Add(Step(40, "retrying", "failed", FailedReason, attempt: 3, requestId: "req-3333"));
        }),
        With(Record(RebuildingId, "cache-1", "cccc0003-0000-4000-8000-000000000003", RecordState.Rebuilding, 1, 5), r =>
        {
            r.Owner = "daemon-b";
            r.DestinationHost = "compute-03";
            r.Reason = "Nova accepted evacuate";
        }),
        With(Record(SkippedId, "batch-1", "dddd0004-0000-4000-8000-000000000004", RecordState.Skipped, 0, 1), r =>
            r.Reason = "instance is not protected (no evacuable tag)"),
        With(Record(AcceptedId, "web-2", Web2Uuid, RecordState.Accepted, 0, 50), r =>
        {
            r.Owner = "daemon-a";
            r.CreatedAt = At(50);
        }),
        With(Record(OlderId, "web-2", Web2Uuid, RecordState.Done, 1, 20), r => r.DestinationHost = "compute-04"),
    ];

    public static List<Host> Hosts() =>
    [
        new Host
        {
            Name = "compute-01",
            FenceGeneration = 1,
            EvacuationId = "compute-01:1",
            State = HostState.Evacuating,
            StateName = "evacuating",
            Source = FenceSource.FenceAgent,
            FencedAt = At(0),
            Counts = new RecordCounts { Total = 4, Done = 1, Failed = 1, Skipped = 1, InFlight = 1 },
            Reason = "fenced by pacemaker node ctl-1",
        },
        new Host
        {
            Name = "compute-03",
            FenceGeneration = 1,
            EvacuationId = "compute-03:1",
            State = HostState.Done,
            StateName = "done",
            Source = FenceSource.FenceAgent,
            FencedAt = At(-600),
            Counts = new RecordCounts { Total = 2, Done = 2 },
            ForcedDown = true,
            Reason = "every record ended: 2 done",
        },
        new Host
        {
            Name = "compute-04",
            FenceGeneration = 2,
            EvacuationId = "compute-04:2",
            State = HostState.Held,
            StateName = "held",
            Source = FenceSource.Operator,
            FencedAt = At(45),
            Counts = new RecordCounts { Total = 1, Accepted = 1 },
            Reason = "held by the blast-radius guard: 3 hosts fenced within 10m (threshold 2)",
        },
    ];

    public static List<Daemon> Daemons() =>
    [
        new Daemon
        {
            Id = "daemon-a",
            Address = "10.0.0.11:50077",
            LeaseId = 0x694d8a1c2b3e4f10,
            Version = "0.1.0",
            StartedAt = At(-3600),
            LeaseExpiresAt = At(7),
            OwnedRecords = 3,
        },
        new Daemon
        {
            Id = "daemon-b",
            Address = "10.0.0.12:50077",
            LeaseId = 0x1f,
            Version = "0.1.0",
            StartedAt = At(-60),
            LeaseExpiresAt = At(9),
            OwnedRecords = 0,
        },
    ];

    public static T With<T>(T value, Action<T> change)
    {
        change(value);
        return value;
    }
}
