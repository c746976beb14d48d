using Evacuationd.Core.Api;
using global::Grpc.Core;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Grpc;

/// <summary>
/// evacuationd.v1.Agent: what evacuationd-agent on each compute node calls (role agent, and
/// only for the host in its certificate: the authorization interceptor checks that before
/// any of this runs). Thin adapters over <see cref="AgentDesk"/> and <see cref="SelfCheckBook"/>.
/// </summary>
internal sealed partial class AgentService(
    AgentDesk desk,
    SelfCheckBook selfChecks,
    EvacuationQueries queries,
    ILogger<AgentService> log) : V1.Agent.AgentBase
{
    /// <summary>Self-check output kept per check: enough to say what failed.</summary>
    private const int MaxOutput = 2048;

    public override async Task<V1.CheckInResponse> CheckIn(V1.CheckInRequest request, ServerCallContext context)
    {
        var checkIn = await desk.CheckInAsync(request.Host, context.CancellationToken).ConfigureAwait(false);
        var response = new V1.CheckInResponse();
        if (checkIn.Host is not null)
        {
            response.Host = ProtoMapper.Host(await queries.GetHostAsync(request.Host, context.CancellationToken).ConfigureAwait(false));
        }
        response.EvacuatedAway.AddRange(checkIn.EvacuatedAway.Select(r => new V1.EvacuatedInstance
        {
            InstanceUuid = r.InstanceUuid,
            RecordId = r.Id,
            FenceGeneration = (ulong)r.FenceGeneration,
            DestinationHost = r.DestinationHost ?? "",
        }));
        return response;
    }

    public override async Task<V1.ReportSelfChecksResponse> ReportSelfChecks(V1.ReportSelfChecksRequest request, ServerCallContext context)
    {
        RequestValidationException.RequireHostName(request.Host);
        var bad = request.Results.Where(r => string.IsNullOrWhiteSpace(r.Name)).Count();
        if (bad > 0)
        {
            throw new RequestValidationException([$"{bad} self-check result(s) have no name"]);
        }
        var checks = request.Results
            .Select(r => new SelfCheck(r.Name, r.Ok, r.Output.Length > MaxOutput ? r.Output[..MaxOutput] : r.Output, TimeSpan.FromMilliseconds(r.DurationMs)))
            .ToList();
        var verdict = await selfChecks.ReportAsync(request.Host, checks, OperatorService.Caller(context), context.CancellationToken).ConfigureAwait(false);
        if (!verdict.Health.Ok)
        {
            Log.SelfChecksFailing(log, request.Host, verdict.Health.FailedInARow, verdict.ServiceDisabled, verdict.Message);
        }
        return new V1.ReportSelfChecksResponse { ServiceDisabled = verdict.ServiceDisabled, Message = verdict.Message };
    }

    public override async Task<V1.ReportGuardResponse> ReportGuard(V1.ReportGuardRequest request, ServerCallContext context)
    {
        var actions = request.Actions.Select(a => new GuardAction(a.InstanceUuid, a.Action, a.Ok, a.Detail)).ToList();
        foreach (var a in actions)
        {
            Log.GuardAction(log, request.Host, a.InstanceUuid, a.Action, a.Ok, a.Detail);
        }
        if (!request.Clean)
        {
            Log.GuardNotClean(log, request.Host, actions.Count);
        }
        await desk.ReportGuardAsync(request.Host, actions, request.Clean, OperatorService.Caller(context), context.CancellationToken).ConfigureAwait(false);
        return new V1.ReportGuardResponse();
    }

    public override async Task<V1.StartGateResponse> GetStartGate(V1.StartGateRequest request, ServerCallContext context)
    {
        var gate = await desk.GetStartGateAsync(request.Host, request.GuardClean, context.CancellationToken).ConfigureAwait(false);
        return new V1.StartGateResponse { MayStart = gate.MayStart, Reason = gate.Reason, PendingRecords = (uint)gate.PendingRecords };
    }

    public override async Task<V1.Host> RequestRelease(V1.RequestReleaseRequest request, ServerCallContext context)
    {
        var by = OperatorService.Caller(context) + (request.Reason.Length > 0 ? $" ({request.Reason})" : "");
        await desk.RequestReleaseAsync(request.Host, by, context.CancellationToken).ConfigureAwait(false);
        Log.Released(log, request.Host, by);
        return ProtoMapper.Host(await queries.GetHostAsync(request.Host, context.CancellationToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "Self-checks of {Host} failing ({FailedInARow} reports in a row, service disabled: {ServiceDisabled}): {Verdict}")]
        public static partial void SelfChecksFailing(ILogger log, string host, int failedInARow, bool serviceDisabled, string verdict);

        [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "Split-brain guard on {Host}: {Action} {Instance} ok={Ok} {Detail}")]
        public static partial void GuardAction(ILogger log, string host, string instance, string action, bool ok, string detail);

        [LoggerMessage(EventId = 702, Level = LogLevel.Error, Message = "Split-brain guard on {Host} is NOT clean after {Actions} action(s): an evacuated guest may still run there; its start gate stays closed")]
        public static partial void GuardNotClean(ILogger log, string host, int actions);

        [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Host {Host} returned to service at its agent's request ({By})")]
        public static partial void Released(ILogger log, string host, string by);
    }
}
