using System.Globalization;
using Evacuationd.Core.Api;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using Evacuationd.Core.Store;
using global::Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Grpc;

/// <summary>evacuationd.v1.Operator: thin adapters over the core's intake and queries.</summary>
internal sealed class OperatorService(
    FenceIntake intake,
    EvacuationQueries queries,
    IEvacuationStore store,
    IComputeClient compute,
    TimeProvider time,
    IOptions<EngineOptions> engine) : V1.Operator.OperatorBase
{
    private const int DefaultPageSize = 500;
    private const int MaxPageSize = 5000;

    public override async Task<V1.ReportFencedResponse> FenceHost(V1.FenceHostRequest request, ServerCallContext context)
    {
        var report = FenceRequests.Report(request.Host, FenceSource.Operator, Caller(context), "", 0, null, request.Reason, request.ConfirmPoweredOff, context);
        var errors = Core.Planning.FencePolicy.Validate(report);
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }
        // An operator types host names: check the name against Nova before recording anything.
        ComputeService? service;
        try
        {
            service = await compute.FindComputeServiceAsync(request.Host, context.CancellationToken).ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"cannot check host '{RequestValidationException.Shown(request.Host)}' with Nova, nothing recorded: {ex.Message}"));
        }
        if (service is null)
        {
            throw new NotFoundException($"Nova has no nova-compute service on host '{request.Host}': nothing recorded (use the host name of `openstack compute service list`)");
        }
        var decision = await intake.ReportAsync(report, context.CancellationToken).ConfigureAwait(false);
        return FenceRequests.Response(decision);
    }

    public override async Task<V1.ListRecordsResponse> ListRecords(V1.ListRecordsRequest request, ServerCallContext context)
    {
        var size = request.PageSize == 0 ? DefaultPageSize : (int)Math.Min(request.PageSize, MaxPageSize);
        var offset = 0;
        if (request.PageToken.Length > 0 && (!int.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            throw new RequestValidationException([$"page_token '{request.PageToken}' is not one this server issued"]);
        }
        if (request.FenceGeneration > long.MaxValue)
        {
            throw new RequestValidationException([$"fence_generation {request.FenceGeneration} is out of range"]);
        }
        var state = ProtoMapper.State(request.State);
        var all = await queries.ListRecordsAsync(Empty(request.Host), state, (long)request.FenceGeneration, context.CancellationToken).ConfigureAwait(false);
        var response = new V1.ListRecordsResponse();
        response.Records.AddRange(all.Skip(offset).Take(size).Select(Map));
        if (offset + size < all.Count)
        {
            response.NextPageToken = (offset + size).ToString(CultureInfo.InvariantCulture);
        }
        return response;
    }

    public override async Task<V1.Record> GetRecord(V1.GetRecordRequest request, ServerCallContext context) =>
        Map(await queries.GetRecordAsync(request.Id, context.CancellationToken).ConfigureAwait(false));

    public override async Task WatchRecords(V1.WatchRecordsRequest request, IServerStreamWriter<V1.RecordEvent> responseStream, ServerCallContext context)
    {
        await foreach (var e in RecordWatch.WatchAsync(store, Empty(request.Host), request.UntilDone, context.CancellationToken).ConfigureAwait(false))
        {
            var message = e.Kind switch
            {
                WatchEventKind.Snapshot => new V1.RecordEvent { Kind = V1.RecordEvent.Types.Kind.Snapshot, Record = Map(e.Record!) },
                WatchEventKind.SnapshotEnd => new V1.RecordEvent { Kind = V1.RecordEvent.Types.Kind.SnapshotEnd },
                WatchEventKind.Updated => new V1.RecordEvent { Kind = V1.RecordEvent.Types.Kind.Updated, Record = Map(e.Record!) },
                _ => new V1.RecordEvent { Kind = V1.RecordEvent.Types.Kind.Host, Host = ProtoMapper.Host(e.Host!) },
            };
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task<V1.ListHostsResponse> ListHosts(V1.ListHostsRequest request, ServerCallContext context)
    {
        var response = new V1.ListHostsResponse();
        response.Hosts.AddRange((await queries.ListHostsAsync(context.CancellationToken).ConfigureAwait(false)).Select(ProtoMapper.Host));
        return response;
    }

    public override async Task<V1.Host> GetHost(V1.HostRequest request, ServerCallContext context) =>
        ProtoMapper.Host(await queries.GetHostAsync(request.Host, context.CancellationToken).ConfigureAwait(false));

    public override async Task<V1.ListDaemonsResponse> ListDaemons(V1.ListDaemonsRequest request, ServerCallContext context)
    {
        var response = new V1.ListDaemonsResponse();
        response.Daemons.AddRange((await queries.ListDaemonsAsync(context.CancellationToken).ConfigureAwait(false)).Select(ProtoMapper.Daemon));
        return response;
    }

    public override async Task<V1.Record> RetryRecord(V1.RecordActionRequest request, ServerCallContext context) =>
        Map(await Actions().RequestAsync(request.Id, OperatorAction.Retry, request.Reason, Caller(context), context.CancellationToken).ConfigureAwait(false));

    public override async Task<V1.Record> CancelRecord(V1.RecordActionRequest request, ServerCallContext context) =>
        Map(await Actions().RequestAsync(request.Id, OperatorAction.Cancel, request.Reason, Caller(context), context.CancellationToken).ConfigureAwait(false));

    public override async Task<V1.HoldResponse> Hold(V1.HoldRequest request, ServerCallContext context)
    {
        var control = await Actions().HoldAsync(request.Reason, Caller(context), context.CancellationToken).ConfigureAwait(false);
        return new V1.HoldResponse { Held = control.Held, Reason = control.HeldReason ?? "" };
    }

    public override async Task<V1.HoldResponse> Resume(V1.ResumeRequest request, ServerCallContext context)
    {
        var (control, released) = await Actions().ResumeAsync(Caller(context), context.CancellationToken).ConfigureAwait(false);
        return new V1.HoldResponse
        {
            Held = control.Held,
            Reason = released.Count == 0 ? "resumed" : $"resumed; released held host(s): {string.Join(", ", released.Select(h => h.Name))}",
        };
    }

    public override async Task<V1.Host> ConfirmHost(V1.HostRequest request, ServerCallContext context)
    {
        await Actions().ConfirmAsync(request.Host, Caller(context), context.CancellationToken).ConfigureAwait(false);
        return ProtoMapper.Host(await queries.GetHostAsync(request.Host, context.CancellationToken).ConfigureAwait(false));
    }

    public override async Task<V1.Host> ReleaseHost(V1.HostRequest request, ServerCallContext context)
    {
        await Actions().ReleaseHostAsync(request.Host, Caller(context), context.CancellationToken).ConfigureAwait(false);
        return ProtoMapper.Host(await queries.GetHostAsync(request.Host, context.CancellationToken).ConfigureAwait(false));
    }

    private OperatorActions Actions() => new(store, time, compute) { ReleaseWait = engine.Value.ReleaseWait };

    /// <summary>Who asks, for history and logs: the authenticated identity when there is one, else the peer.</summary>
    internal static string Caller(ServerCallContext context) =>
        context.UserState.TryGetValue(Security.CallerIdentity.UserStateKey, out var who) && who is Security.CallerIdentity { Role: not null } id && id != Security.CallerIdentity.Development
            ? id.Subject
            : $"operator@{context.Peer}";

    private V1.Record Map(RecordView v) => ProtoMapper.Record(v, (uint)engine.Value.Workflow.MaxAttempts);

    private static string? Empty(string s) => string.IsNullOrEmpty(s) ? null : s;
}
