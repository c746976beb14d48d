using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>
/// One scripted WatchRecords stream: the events, then (with a <see cref="WatchFeed"/>) what
/// the test sends while the CLI watches, then how the stream ends.
/// </summary>
internal sealed record WatchScript(IReadOnlyList<RecordEvent> Events, Status? BreakWith = null, WatchFeed? Feed = null);

/// <summary>Events a test sends one by one into a running watch stream; <see cref="End"/> ends it.</summary>
internal sealed class WatchFeed
{
    private readonly Channel<RecordEvent> events = Channel.CreateUnbounded<RecordEvent>();

    public ChannelReader<RecordEvent> Reader => events.Reader;

    public void Send(params RecordEvent[] sent)
    {
        foreach (var e in sent)
        {
            Assert.True(events.Writer.TryWrite(e));
        }
    }

    public void End() => events.Writer.TryComplete();
}

/// <summary>The Operator service over <see cref="CannedData"/>, recording what it was asked.</summary>
internal sealed class FakeOperator : Operator.OperatorBase
{
    private readonly object gate = new();
    private readonly List<Record> records = CannedData.Records();
    private readonly List<Host> hosts = CannedData.Hosts();
    private readonly Dictionary<string, ReportFencedResponse> fenced = new(StringComparer.Ordinal);
    private bool held;
    private string heldReason = "";

    public static readonly string[] NovaHosts = ["compute-01", "compute-02", "compute-03", "compute-04", "compute-05", "compute-06"];

    /// <summary>Records per ListRecords page (the CLI sends page_size 0 = server default).</summary>
    public int PageSize { get; init; } = 500;

    public ConcurrentQueue<WatchScript> WatchScripts { get; } = new();
    public ConcurrentQueue<FenceHostRequest> FenceRequests { get; } = new();
    public ConcurrentQueue<ListRecordsRequest> ListRequests { get; } = new();
    public ConcurrentQueue<WatchRecordsRequest> WatchRequests { get; } = new();
    public ConcurrentQueue<(string Action, RecordActionRequest Request)> RecordRequests { get; } = new();
    public ConcurrentQueue<(string Action, HostRequest Request)> HostRequests { get; } = new();
    public ConcurrentQueue<string> HoldReasons { get; } = new();
    public int Calls;

    /// <summary>Whether automatic evacuation is held (after Hold, until Resume).</summary>
    public bool Held
    {
        get
        {
            lock (gate)
            {
                return held;
            }
        }
    }

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

        if (script.Feed is { } feed)
        {
            await foreach (var e in feed.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(e);
            }
        }

        if (script.BreakWith is { } status)
        {
            throw new RpcException(status);
        }
    }

    /// <summary>Like the daemon: stores the request and answers the record as it is; its owner applies it later.</summary>
    public override Task<Record> RetryRecord(RecordActionRequest request, ServerCallContext context) =>
        RequestOnRecord("retry", request, r => r.State is RecordState.Failed or RecordState.Skipped or RecordState.Cancelled
            ? null
            : $"record {r.Id} is {r.StateName}: only failed, skipped or cancelled records can be retried");

    public override Task<Record> CancelRecord(RecordActionRequest request, ServerCallContext context) =>
        RequestOnRecord("cancel", request, r => r.State is RecordState.Done or RecordState.Failed or RecordState.Skipped or RecordState.Cancelled
            ? $"record {r.Id} already ended ({r.StateName}): nothing to cancel"
            : null);

    public override Task<HoldResponse> Hold(HoldRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        HoldReasons.Enqueue(request.Reason);
        lock (gate)
        {
            held = true;
            heldReason = request.Reason.Length > 0 ? request.Reason : "no reason given";
            return Task.FromResult(new HoldResponse { Held = true, Reason = heldReason });
        }
    }

    /// <summary>Like the daemon: ends the hold and lets every held host go on; the reason names them.</summary>
    public override Task<HoldResponse> Resume(ResumeRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        lock (gate)
        {
            held = false;
            heldReason = "";
            var released = hosts.Where(h => h.State == HostState.Held).ToList();
            foreach (var h in released)
            {
                ToPlanning(h, "resumed by operator");
            }

            return Task.FromResult(new HoldResponse
            {
                Held = false,
                Reason = released.Count == 0 ? "resumed" : $"resumed; released held host(s): {string.Join(", ", released.Select(h => h.Name))}",
            });
        }
    }

    public override Task<Host> ConfirmHost(HostRequest request, ServerCallContext context) =>
        ChangeHost("confirm", request, h =>
        {
            if (h.State != HostState.Held)
            {
                throw Refused($"host {h.Name} is not held (its fencing {h.EvacuationId} is {h.StateName})");
            }

            ToPlanning(h, "confirmed by operator");
        });

    public override Task<Host> ReleaseHost(HostRequest request, ServerCallContext context) =>
        ChangeHost("release", request, h =>
        {
            if (h.State is not (HostState.Done or HostState.Failed or HostState.Released))
            {
                throw Refused($"fencing {h.EvacuationId} of {h.Name} is still {h.StateName}: release the host after it ended");
            }

            h.State = HostState.Released;
            h.StateName = "released";
            h.Reason = "returned to service by operator: forced_down cleared, service enabled";
            h.ForcedDown = false;
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

    private static RpcException Refused(string why) => new(new Status(StatusCode.FailedPrecondition, why));

    private static void ToPlanning(Host h, string why)
    {
        h.State = HostState.Planning;
        h.StateName = "planning";
        h.Reason = why;
    }

    private Task<Record> RequestOnRecord(string action, RecordActionRequest request, Func<Record, string?> whyRefused)
    {
        Interlocked.Increment(ref Calls);
        RecordRequests.Enqueue((action, request));
        var record = Snapshot().FirstOrDefault(r => r.Id == request.Id)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"no record or instance '{request.Id}'"));
        return whyRefused(record) is { } why ? throw Refused(why) : Task.FromResult(record);
    }

    private Task<Host> ChangeHost(string action, HostRequest request, Action<Host> change)
    {
        Interlocked.Increment(ref Calls);
        HostRequests.Enqueue((action, request));
        lock (gate)
        {
            var host = hosts.FirstOrDefault(h => h.Name == request.Host)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"host '{request.Host}' has never been fenced"));
            change(host);
            return Task.FromResult(host.Clone());
        }
    }
}
