using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Evacuationd.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using AgentBase = Evacuationd.Contracts.V1.Agent.AgentBase;

namespace Evacuationd.Agent.Tests.Support;

/// <summary>
/// The daemon's Agent service as the agent may rely on it, in memory, for one host:
/// <list type="bullet">
/// <item>CheckIn: the host's fencing (unset when never fenced), the instances evacuated away, next_check_in_seconds.</item>
/// <item>GetStartGate: may_start only when guard_clean and the fencing ended with no pending record (or never fenced, or released).</item>
/// <item>RequestRelease: NOT_FOUND when never fenced; FAILED_PRECONDITION while the fencing has not ended or while
///   Nova still refuses (<see cref="NovaRefusals"/> more times); then the host is RELEASED.</item>
/// <item>With <see cref="RequireAgentCertificate"/>: PERMISSION_DENIED unless the client certificate has OU=agent and CN = the request's host.</item>
/// </list>
/// Every call is written to the shared <see cref="EventLog"/>.
/// </summary>
internal sealed class FakeAgentService(EventLog log, TimeProvider clock) : AgentBase
{
    private readonly object gate = new();
    private readonly List<EvacuatedInstance> evacuated = [];
    private Host? host;
    private int pending;

    public uint NextCheckInSeconds { get; set; }

    /// <summary>How many more RequestRelease calls Nova refuses (`done` evacuation migrations remain) after the fencing ended.</summary>
    public int NovaRefusals { get; set; }

    /// <summary>ReportSelfChecks answers service_disabled (the daemon disabled nova-compute by policy).</summary>
    public bool DisableServiceOnFailedChecks { get; set; }

    /// <summary>A daemon that ignores guard_clean and opens whenever the records are terminal (the agent must not trust it blindly).</summary>
    public bool IgnoresGuard { get; set; }

    public bool RequireAgentCertificate { get; set; }

    /// <summary>Runs inside GetStartGate before the answer is made (to move the fencing on between check-in and gate).</summary>
    public Action<FakeAgentService>? BeforeGateAnswer { get; set; }

    public ConcurrentQueue<CheckInRequest> CheckIns { get; } = new();
    public ConcurrentQueue<DateTimeOffset> CheckInTimes { get; } = new();
    public ConcurrentQueue<ReportGuardRequest> GuardReports { get; } = new();
    public ConcurrentQueue<ReportSelfChecksRequest> SelfCheckReports { get; } = new();
    public ConcurrentQueue<StartGateRequest> GateRequests { get; } = new();
    public ConcurrentQueue<RequestReleaseRequest> ReleaseRequests { get; } = new();

    public HostState? State
    {
        get
        {
            lock (gate)
            {
                return host?.State;
            }
        }
    }

    /// <summary>The host was fenced (generation 1) and is now in <paramref name="state"/> with <paramref name="pendingRecords"/> records not terminal.</summary>
    public void Fenced(string name, HostState state, int pendingRecords = 0)
    {
        lock (gate)
        {
            host = new Host
            {
                Name = name,
                FenceGeneration = 1,
                EvacuationId = $"{name}:1",
                State = state,
                StateName = state.ToString().ToLowerInvariant(),
                FencedAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
            };
            pending = pendingRecords;
        }
    }

    /// <summary>The fencing moved on: <paramref name="state"/>, <paramref name="pendingRecords"/> records not terminal.</summary>
    public void MoveTo(HostState state, int pendingRecords = 0)
    {
        lock (gate)
        {
            host!.State = state;
            host.StateName = state.ToString().ToLowerInvariant();
            pending = pendingRecords;
        }
    }

    /// <summary>The evacuate call of this instance was sent (or may have been).</summary>
    public void EvacuatedAway(Guid instance, string destination = "compute-02")
    {
        lock (gate)
        {
            evacuated.Add(new EvacuatedInstance
            {
                InstanceUuid = instance.ToString(),
                RecordId = $"{host!.EvacuationId}:{instance.ToString()[..8]}",
                FenceGeneration = host.FenceGeneration,
                DestinationHost = destination,
            });
        }
    }

    /// <summary>An instance id that is not a UUID (a daemon bug the agent must not paper over).</summary>
    public void EvacuatedAwayRaw(string instanceUuid)
    {
        lock (gate)
        {
            evacuated.Add(new EvacuatedInstance { InstanceUuid = instanceUuid, RecordId = "bogus", FenceGeneration = 1 });
        }
    }

    public override Task<CheckInResponse> CheckIn(CheckInRequest request, ServerCallContext context)
    {
        Authorize(request.Host, context);
        CheckIns.Enqueue(request);
        CheckInTimes.Enqueue(clock.GetUtcNow());
        lock (gate)
        {
            var response = new CheckInResponse { Host = host?.Clone(), NextCheckInSeconds = NextCheckInSeconds };
            response.EvacuatedAway.AddRange(evacuated.Select(e => e.Clone()));
            log.Add($"daemon CheckIn state={host?.State.ToString() ?? "none"} evacuated={evacuated.Count}");
            return Task.FromResult(response);
        }
    }

    public override Task<ReportGuardResponse> ReportGuard(ReportGuardRequest request, ServerCallContext context)
    {
        Authorize(request.Host, context);
        GuardReports.Enqueue(request);
        log.Add($"daemon ReportGuard clean={request.Clean} actions=[{string.Join(",", request.Actions.Select(a => $"{a.Action}:{a.InstanceUuid}:{a.Ok}"))}]");
        return Task.FromResult(new ReportGuardResponse());
    }

    public override Task<ReportSelfChecksResponse> ReportSelfChecks(ReportSelfChecksRequest request, ServerCallContext context)
    {
        Authorize(request.Host, context);
        SelfCheckReports.Enqueue(request);
        log.Add($"daemon ReportSelfChecks [{string.Join(",", request.Results.Select(r => $"{r.Name}:{r.Ok}"))}]");
        var disabled = DisableServiceOnFailedChecks && request.Results.Any(r => !r.Ok);
        return Task.FromResult(new ReportSelfChecksResponse
        {
            ServiceDisabled = disabled,
            Message = disabled ? "nova-compute disabled after 3 failed rounds of self-checks" : string.Empty,
        });
    }

    public override Task<StartGateResponse> GetStartGate(StartGateRequest request, ServerCallContext context)
    {
        Authorize(request.Host, context);
        GateRequests.Enqueue(request);
        BeforeGateAnswer?.Invoke(this);
        StartGateResponse answer;
        lock (gate)
        {
            var settled = host is null || host.State == HostState.Released
                || (host.State is HostState.Done or HostState.Failed && pending == 0);
            answer = (request.GuardClean || IgnoresGuard, settled) switch
            {
                (false, _) => new StartGateResponse { MayStart = false, Reason = "the agent's guard is not clean", PendingRecords = (uint)pending },
                (true, false) => new StartGateResponse { MayStart = false, Reason = $"{pending} record(s) of {host!.EvacuationId} are not terminal", PendingRecords = (uint)pending },
                _ => new StartGateResponse { MayStart = true, Reason = host is null ? "never fenced" : $"every record of {host.EvacuationId} is terminal" },
            };
        }

        log.Add($"daemon GetStartGate guard_clean={request.GuardClean} -> may_start={answer.MayStart}");
        return Task.FromResult(answer);
    }

    public override Task<Host> RequestRelease(RequestReleaseRequest request, ServerCallContext context)
    {
        Authorize(request.Host, context);
        ReleaseRequests.Enqueue(request);
        lock (gate)
        {
            if (host is null)
            {
                log.Add("daemon RequestRelease -> NotFound");
                throw new RpcException(new Status(StatusCode.NotFound, $"{request.Host} was never fenced"));
            }

            if (host.State is not (HostState.Done or HostState.Failed or HostState.Released))
            {
                log.Add("daemon RequestRelease -> FailedPrecondition (fencing)");
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"the fencing {host.EvacuationId} has not ended ({host.StateName})"));
            }

            if (host.State != HostState.Released && NovaRefusals > 0)
            {
                NovaRefusals--;
                log.Add("daemon RequestRelease -> FailedPrecondition (nova)");
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Nova refuses forced_down=false for {request.Host}: `done` evacuation migration records remain (nova-compute has not cleaned up yet)"));
            }

            host.State = HostState.Released;
            host.StateName = "released";
            log.Add("daemon RequestRelease -> released");
            return Task.FromResult(host.Clone());
        }
    }

    private void Authorize(string requestedHost, ServerCallContext context)
    {
        if (!RequireAgentCertificate)
        {
            return;
        }

        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        var cn = certificate?.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        var ous = certificate?.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(n => n.GetSingleElementType().Value == "2.5.4.11")
            .Select(n => n.GetSingleElementValue())
            .ToList() ?? [];
        if (!ous.Contains("agent") || !string.Equals(cn, requestedHost, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"role agent may act only for the host in its certificate: {certificate?.Subject ?? "(no certificate)"} asked for {requestedHost}"));
        }
    }
}
