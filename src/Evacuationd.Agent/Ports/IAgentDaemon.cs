using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Ports;

/// <summary>
/// The evacuationd daemons as the agent sees them: the calls of <c>evacuationd.v1.Agent</c>,
/// each tried on every configured daemon in turn (failover) by the adapter. What went wrong
/// comes back as a result, never as an exception: a daemon's answer (<see cref="DaemonResult{T}.Refusal"/>)
/// or no daemon reachable at all (<see cref="DaemonResult{T}.Unreachable"/>). Only cancellation throws.
/// </summary>
internal interface IAgentDaemon
{
    /// <summary>Periodic check-in: the host's fencing state and the instances evacuated away from it.</summary>
    Task<DaemonResult<CheckInResponse>> CheckInAsync(CheckInRequest request, CancellationToken cancellationToken);

    /// <summary>What the split-brain guard did, and whether no evacuated guest runs here any more.</summary>
    Task<DaemonResult<ReportGuardResponse>> ReportGuardAsync(ReportGuardRequest request, CancellationToken cancellationToken);

    /// <summary>Results of the local self-checks.</summary>
    Task<DaemonResult<ReportSelfChecksResponse>> ReportSelfChecksAsync(ReportSelfChecksRequest request, CancellationToken cancellationToken);

    /// <summary>May nova-compute start here (S7)?</summary>
    Task<DaemonResult<StartGateResponse>> GetStartGateAsync(StartGateRequest request, CancellationToken cancellationToken);

    /// <summary>Put the host back into service; FAILED_PRECONDITION while that is not possible yet.</summary>
    Task<DaemonResult<Host>> RequestReleaseAsync(RequestReleaseRequest request, CancellationToken cancellationToken);
}
