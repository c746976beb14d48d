using Evacuationd.Core.Api;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Server.Security;
using global::Grpc.Core;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Grpc;

/// <summary>evacuationd.v1.Fencing: a thin adapter over <see cref="FenceIntake"/>.</summary>
internal sealed class FencingService(FenceIntake intake, ComputeInventory inventory, GrpcBackend backend) : V1.Fencing.FencingBase
{
    public override async Task<V1.ReportFencedResponse> ReportFenced(V1.ReportFencedRequest request, ServerCallContext context)
    {
        var source = request.Source == V1.FenceSource.Operator ? FenceSource.Operator : FenceSource.FenceAgent;
        var report = FenceRequests.Report(request.Host, source, request.Reporter, request.EventId, request.FenceGeneration,
            FenceRequests.Time(request.FencedAt, "fenced_at"), request.Reason, request.ConfirmPoweredOff, context);
        var decision = await intake.ReportAsync(report, context.CancellationToken).ConfigureAwait(false);
        return FenceRequests.Response(decision);
    }

    public override async Task<V1.ReportPoweredOnResponse> ReportPoweredOn(V1.ReportPoweredOnRequest request, ServerCallContext context)
    {
        var by = string.IsNullOrWhiteSpace(request.Reporter) ? OperatorService.Caller(context) : request.Reporter;
        var host = await intake.ReportPoweredOnAsync(request.Host, FenceRequests.Time(request.PoweredOnAt, "powered_on_at"), by, context.CancellationToken).ConfigureAwait(false);
        return host is null
            ? new V1.ReportPoweredOnResponse { Message = $"{request.Host} was never fenced: nothing to record" }
            : new V1.ReportPoweredOnResponse
            {
                Host = ProtoMapper.Host(new HostView(host, 0, null, host.Counts)),
                Message = $"power-on of {request.Host} recorded; fencing {host.EvacuationId} is {host.State.Name()}",
            };
    }

    public override async Task<V1.CheckResponse> Check(V1.CheckRequest request, ServerCallContext context)
    {
        var caller = context.UserState.TryGetValue(CallerIdentity.UserStateKey, out var who) && who is CallerIdentity id
            ? id
            : CallerIdentity.Development;
        var response = new V1.CheckResponse
        {
            DaemonId = backend.DaemonId,
            Caller = caller.Subject,
            Role = caller.Role?.Name() ?? "",
            Ready = backend.EngineUp(),
        };
        if (request.IncludeHosts
            && await inventory.HostsAsync(TimeSpan.FromSeconds(2), context.CancellationToken).ConfigureAwait(false) is { } hosts)
        {
            response.HostsKnown = true;
            response.Hosts.AddRange(hosts);
        }
        return response;
    }
}

/// <summary>Shared by Fencing.ReportFenced and Operator.FenceHost.</summary>
internal static class FenceRequests
{
    public static FenceReport Report(string host, FenceSource source, string reporter, string eventId, ulong generation,
        DateTimeOffset? fencedAt, string reason, bool confirmed, ServerCallContext context)
    {
        if (generation > long.MaxValue)
        {
            throw new RequestValidationException([$"fence_generation {generation} is out of range"]);
        }
        var who = string.IsNullOrWhiteSpace(reporter) ? context.Peer ?? "" : reporter;
        return new FenceReport(host, source, who, string.IsNullOrEmpty(eventId) ? null : eventId, (long)generation, fencedAt, reason, confirmed);
    }

    /// <summary>A time from a request, or null when unset; one protobuf cannot hold is refused, naming the field.</summary>
    public static DateTimeOffset? Time(Google.Protobuf.WellKnownTypes.Timestamp? at, string field)
    {
        if (at is null)
        {
            return null;
        }
        // Timestamp's own range: 0001-01-01 to 9999-12-31, nanos within one second.
        if (at.Seconds is < -62_135_596_800 or > 253_402_300_799 || at.Nanos is < 0 or > 999_999_999)
        {
            throw new RequestValidationException([$"{field} is not a valid time (seconds {at.Seconds}, nanos {at.Nanos}): seconds must be within years 1-9999 and nanos within 0-999999999"]);
        }
        return at.ToDateTimeOffset();
    }

    public static V1.ReportFencedResponse Response(FenceDecision d) => new()
    {
        EvacuationId = d.Host.EvacuationId,
        FenceGeneration = (ulong)d.Host.FenceGeneration,
        Outcome = ProtoMapper.Outcome(d.Outcome),
        Message = d.Message,
        Host = ProtoMapper.Host(new HostView(d.Host, 0, null, RecordCounts.Empty)),
    };
}
