using System.Collections.Concurrent;
using System.Globalization;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>One scripted WatchRecords stream: the events, then how the stream ends.</summary>
internal sealed record WatchScript(IReadOnlyList<RecordEvent> Events, Status? BreakWith = null);

/// <summary>The Operator service over <see cref="CannedData"/>, recording what it was asked.</summary>
internal sealed class FakeOperator : Operator.OperatorBase
{
    private readonly object gate = new();
    private readonly List<Record> records = CannedData.Records();
    private readonly List<Host> hosts = CannedData.Hosts();
    private readonly Dictionary<string, ReportFencedResponse> fenced = new(StringComparer.Ordinal);
    private bool held;

    public static readonly string[] NovaHosts = ["compute-01", "compute-02", "compute-03", "compute-04", "compute-05", "compute-06"];

    /// <summary>Records per ListRecords page (the CLI sends page_size 0 = server default).</summary>
    public int PageSize { get; init; } = 500;

    public ConcurrentQueue<WatchScript> WatchScripts { get; } = new();
    public ConcurrentQueue<FenceHostRequest> FenceRequests { get; } = new();
    public ConcurrentQueue<ListRecordsRequest> ListRequests { get; } = new();
    public ConcurrentQueue<WatchRecordsRequest> WatchRequests { get; } = new();
    public int Calls;

    public override Task<ReportFencedResponse> FenceHost(FenceHostRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        FenceRequests.Enqueue(request);
        if (!request.ConfirmPoweredOff)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "an operator fence needs confirm_powered_off"));
        }

        if (!NovaHosts.Contains(request.Host))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"host '{request.Host}' is not a Nova compute host"));
        }

        lock (gate)
        {
            if (fenced.TryGetValue(request.Host, out var first))
            {
                return Task.FromResult(new ReportFencedResponse(first)
                {
                    Outcome = FenceOutcome.Duplicate,
                    Message = $"{request.Host} is already being evacuated ({first.EvacuationId})",
                });
            }

            var response = new ReportFencedResponse
            {
                EvacuationId = $"{request.Host}:7",
                FenceGeneration = 7,
                Outcome = FenceOutcome.Created,
                Message = "fencing recorded; evacuation starts",
            };
            fenced[request.Host] = response;
            return Task.FromResult(response);
        }
    }

    public override Task<ListRecordsResponse> ListRecords(ListRecordsRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        ListRequests.Enqueue(request);
        var matching = Snapshot()
            .Where(r => request.Host.Length == 0 || r.SourceHost == request.Host)
            .Where(r => request.State == RecordState.Unspecified || r.State == request.State)
            .ToList();
        var offset = request.PageToken.Length == 0 ? 0 : int.Parse(request.PageToken, CultureInfo.InvariantCulture);
        var response = new ListRecordsResponse();
        response.Records.AddRange(matching.Skip(offset).Take(PageSize));
        if (offset + PageSize < matching.Count)
        {
            response.NextPageToken = (offset + PageSize).ToString(CultureInfo.InvariantCulture);
        }

        return Task.FromResult(response);
    }

    public override Task<Record> GetRecord(GetRecordRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        var record = Snapshot().FirstOrDefault(r => r.Id == request.Id)
            ?? Snapshot().Where(r => r.InstanceUuid == request.Id).OrderByDescending(r => r.CreatedAt).FirstOrDefault();
        return record is null
            ? throw new RpcException(new Status(StatusCode.NotFound, $"no record or instance '{request.Id}'"))
            : Task.FromResult(record);
    }

    public override async Task WatchRecords(WatchRecordsRequest request, IServerStreamWriter<RecordEvent> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        WatchRequests.Enqueue(request);
        if (!WatchScripts.TryDequeue(out var script))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "no watch script left"));
        }

        foreach (var e in script.Events)
        {
            await responseStream.WriteAsync(e);
        }

        if (script.BreakWith is { } status)
        {
            throw new RpcException(status);
        }
    }

    public override Task<Record> RetryRecord(RecordActionRequest request, ServerCallContext context) =>
        ChangeRecord(request, RecordState.Failed, r =>
        {
            r.State = RecordState.Retrying;
            r.StateName = "retrying";
            r.Reason = $"operator retry: {request.Reason}";
        });

    public override Task<Record> CancelRecord(RecordActionRequest request, ServerCallContext context) =>
        ChangeRecord(request, RecordState.Accepted, r =>
        {
            r.State = RecordState.Cancelled;
            r.StateName = "cancelled";
            r.Reason = request.Reason.Length == 0 ? "cancelled by operator" : $"cancelled by operator: {request.Reason}";
        });

    public override Task<HoldResponse> Hold(HoldRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        held = true;
        return Task.FromResult(new HoldResponse { Held = true, Reason = request.Reason });
    }

    public override Task<HoldResponse> Resume(ResumeRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        held = false;
        return Task.FromResult(new HoldResponse { Held = held, Reason = request.Reason });
    }

    public override Task<Host> ConfirmHost(HostRequest request, ServerCallContext context) =>
        ChangeHost(request, HostState.Held, h =>
        {
            h.State = HostState.Evacuating;
            h.StateName = "evacuating";
            h.Reason = "confirmed by operator";
        });

    public override Task<Host> ReleaseHost(HostRequest request, ServerCallContext context) =>
        ChangeHost(request, HostState.Done, h =>
        {
            h.State = HostState.Released;
            h.StateName = "released";
        });

    public override Task<ListHostsResponse> ListHosts(ListHostsRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        var response = new ListHostsResponse();
        lock (gate)
        {
            response.Hosts.AddRange(hosts.Select(h => h.Clone()));
        }

        return Task.FromResult(response);
    }

    public override Task<ListDaemonsResponse> ListDaemons(ListDaemonsRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        var response = new ListDaemonsResponse();
        response.Daemons.AddRange(CannedData.Daemons());
        return Task.FromResult(response);
    }

    private List<Record> Snapshot()
    {
        lock (gate)
        {
            return records.Select(r => r.Clone()).ToList();
        }
    }

    private Task<Record> ChangeRecord(RecordActionRequest request, RecordState from, Action<Record> change)
    {
        Interlocked.Increment(ref Calls);
        lock (gate)
        {
            var record = records.FirstOrDefault(r => r.Id == request.Id)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"no record '{request.Id}'"));
            if (record.State != from)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"record {record.Id} is {record.StateName}"));
            }

            change(record);
            return Task.FromResult(record.Clone());
        }
    }

    private Task<Host> ChangeHost(HostRequest request, HostState from, Action<Host> change)
    {
        Interlocked.Increment(ref Calls);
        lock (gate)
        {
            var host = hosts.FirstOrDefault(h => h.Name == request.Host)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"no fencing of host '{request.Host}'"));
            if (host.State != from)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"host {host.Name} is {host.StateName}"));
            }

            change(host);
            return Task.FromResult(host.Clone());
        }
    }
}
