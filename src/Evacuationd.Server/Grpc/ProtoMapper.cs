using Evacuationd.Core.Api;
using Evacuationd.Core.Records;
using Google.Protobuf.WellKnownTypes;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Grpc;

/// <summary>Core records to evacuationd.v1 messages.</summary>
internal static class ProtoMapper
{
    public static V1.Record Record(RecordView v)
    {
        var r = v.Record;
        var m = new V1.Record
        {
            Id = r.Id,
            InstanceUuid = r.InstanceUuid,
            InstanceName = r.InstanceName,
            SourceHost = r.SourceHost,
            FenceGeneration = (ulong)r.FenceGeneration,
            EvacuationId = r.EvacuationId,
            State = State(r.State),
            StateName = r.State.Name(),
            DestinationHost = r.DestinationHost ?? "",
            RequestedDestination = r.RequestedDestination ?? "",
            Attempt = (uint)r.Attempt,
            AttemptRequestId = r.AttemptRequestId ?? "",
            BaselineMigrationId = r.BaselineMigrationId,
            Reason = r.Reason,
            Error = r.Error ?? "",
            Owner = v.Owner ?? "",
            Revision = v.Revision,
            Priority = r.Priority,
            CreatedAt = Time(r.CreatedAt),
            UpdatedAt = Time(r.UpdatedAt),
            CancelRequested = r.CancelRequested,
        };
        if (r.AttemptStartedAt is { } started)
        {
            m.AttemptStartedAt = Time(started);
        }
        if (r.NotBefore is { } notBefore)
        {
            m.NotBefore = Time(notBefore);
        }
        m.History.AddRange(r.History.Select(Transition));
        return m;
    }

    public static V1.Record Record(RecordView v, uint maxAttempts)
    {
        var m = Record(v);
        m.MaxAttempts = maxAttempts;
        return m;
    }

    public static V1.Host Host(HostView v)
    {
        var h = v.Host;
        var m = new V1.Host
        {
            Name = h.Name,
            FenceGeneration = (ulong)h.FenceGeneration,
            EvacuationId = h.EvacuationId,
            State = State(h.State),
            StateName = h.State.Name(),
            Source = h.Source == FenceSource.Operator ? V1.FenceSource.Operator : V1.FenceSource.FenceAgent,
            Reporter = h.Reporter,
            EventId = h.EventId ?? "",
            FencedAt = Time(h.FencedAt),
            ReportedAt = Time(h.ReportedAt),
            Reason = h.Reason,
            Owner = v.Owner ?? "",
            Counts = Counts(v.Counts.Total > 0 ? v.Counts : h.Counts),
            ServiceId = h.ServiceId ?? "",
            ForcedDown = h.ForcedDown,
            Revision = v.Revision,
            Error = h.Error ?? "",
        };
        m.History.AddRange(h.History.Select(Transition));
        return m;
    }

    public static V1.Daemon Daemon(DaemonView v)
    {
        var d = v.Daemon;
        var m = new V1.Daemon
        {
            Id = d.Id,
            Version = d.Version,
            Address = d.Address,
            LeaseId = d.LeaseId,
            StartedAt = Time(d.StartedAt),
            OwnedRecords = (uint)v.OwnedRecords,
        };
        if (d.LeaseExpiresAt is { } expires)
        {
            m.LeaseExpiresAt = Time(expires);
        }
        return m;
    }

    public static V1.RecordCounts Counts(RecordCounts c) => new()
    {
        Total = (uint)c.Total,
        Accepted = (uint)c.Accepted,
        InFlight = (uint)c.InFlight,
        Done = (uint)c.Done,
        Failed = (uint)c.Failed,
        Skipped = (uint)c.Skipped,
        Cancelled = (uint)c.Cancelled,
    };

    public static V1.Transition Transition(Transition t) => new()
    {
        At = Time(t.At),
        From = t.From,
        To = t.To,
        Reason = t.Reason,
        Daemon = t.Daemon,
        Attempt = (uint)t.Attempt,
        RequestId = t.RequestId ?? "",
    };

    public static V1.RecordState State(RecordState s) => s switch
    {
        RecordState.Accepted => V1.RecordState.Accepted,
        RecordState.Evacuating => V1.RecordState.Evacuating,
        RecordState.Rebuilding => V1.RecordState.Rebuilding,
        RecordState.Retrying => V1.RecordState.Retrying,
        RecordState.Done => V1.RecordState.Done,
        RecordState.Failed => V1.RecordState.Failed,
        RecordState.Skipped => V1.RecordState.Skipped,
        RecordState.Cancelled => V1.RecordState.Cancelled,
        _ => V1.RecordState.Unspecified,
    };

    public static RecordState? State(V1.RecordState s) => s switch
    {
        V1.RecordState.Unspecified => null,
        V1.RecordState.Accepted => RecordState.Accepted,
        V1.RecordState.Evacuating => RecordState.Evacuating,
        V1.RecordState.Rebuilding => RecordState.Rebuilding,
        V1.RecordState.Retrying => RecordState.Retrying,
        V1.RecordState.Done => RecordState.Done,
        V1.RecordState.Failed => RecordState.Failed,
        V1.RecordState.Skipped => RecordState.Skipped,
        V1.RecordState.Cancelled => RecordState.Cancelled,
        _ => throw new RequestValidationException([$"state {(int)s} is not a known record state"]),
    };

    public static V1.HostState State(HostState s) => s switch
    {
        HostState.Planning => V1.HostState.Planning,
        HostState.Held => V1.HostState.Held,
        HostState.Evacuating => V1.HostState.Evacuating,
        HostState.Done => V1.HostState.Done,
        HostState.Failed => V1.HostState.Failed,
        HostState.Released => V1.HostState.Released,
        _ => V1.HostState.Unspecified,
    };

    public static V1.FenceOutcome Outcome(Core.Planning.FenceOutcome o) => o switch
    {
        Core.Planning.FenceOutcome.Created => V1.FenceOutcome.Created,
        Core.Planning.FenceOutcome.Duplicate => V1.FenceOutcome.Duplicate,
        Core.Planning.FenceOutcome.Stale => V1.FenceOutcome.Stale,
        _ => V1.FenceOutcome.Unspecified,
    };

    public static Timestamp Time(DateTimeOffset t) => Timestamp.FromDateTimeOffset(t);
}
