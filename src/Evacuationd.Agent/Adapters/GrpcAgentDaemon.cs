using Evacuationd.Agent.Ports;
using Evacuationd.Cli;
using Evacuationd.Cli.Connection;
using Evacuationd.Contracts.V1;
using Grpc.Core;
using AgentClient = Evacuationd.Contracts.V1.Agent.AgentClient;

namespace Evacuationd.Agent.Adapters;

/// <summary>
/// <see cref="IAgentDaemon"/> over gRPC with evacctl's failover (<see cref="DaemonClient"/>):
/// each call goes to the daemon that answered last, then to the others; every daemon gets at
/// most the per-call timeout; a release, which waits for Nova in the daemon, gets <paramref name="releaseTimeout"/>.
/// </summary>
internal sealed class GrpcAgentDaemon(DaemonClient daemons, TimeSpan callTimeout, TimeSpan releaseTimeout) : IAgentDaemon
{
    public Task<DaemonResult<CheckInResponse>> CheckInAsync(CheckInRequest request, CancellationToken cancellationToken) =>
        CallAsync("Agent.CheckIn", (c, o) => c.CheckInAsync(request, o), cancellationToken);

    public Task<DaemonResult<ReportGuardResponse>> ReportGuardAsync(ReportGuardRequest request, CancellationToken cancellationToken) =>
        CallAsync("Agent.ReportGuard", (c, o) => c.ReportGuardAsync(request, o), cancellationToken);

    public Task<DaemonResult<ReportSelfChecksResponse>> ReportSelfChecksAsync(ReportSelfChecksRequest request, CancellationToken cancellationToken) =>
        CallAsync("Agent.ReportSelfChecks", (c, o) => c.ReportSelfChecksAsync(request, o), cancellationToken);

    public Task<DaemonResult<StartGateResponse>> GetStartGateAsync(StartGateRequest request, CancellationToken cancellationToken) =>
        CallAsync("Agent.GetStartGate", (c, o) => c.GetStartGateAsync(request, o), cancellationToken);

    public Task<DaemonResult<Host>> RequestReleaseAsync(RequestReleaseRequest request, CancellationToken cancellationToken) =>
        CallAsync("Agent.RequestRelease", (c, o) => c.RequestReleaseAsync(request, o), cancellationToken, releaseTimeout);

    private async Task<DaemonResult<T>> CallAsync<T>(
        string what,
        Func<AgentClient, CallOptions, AsyncUnaryCall<T>> call,
        CancellationToken cancellationToken,
        TimeSpan? timeout = null)
        where T : class
    {
        try
        {
            var answer = await daemons.CallAsync(what, (channel, options) => call(new AgentClient(channel), options), timeout ?? callTimeout, cancellationToken).ConfigureAwait(false);
            return DaemonResult<T>.Ok(answer);
        }
        catch (DaemonCallException e)
        {
            return DaemonResult<T>.Refused(new DaemonRefusal(e.Server, e.Status.StatusCode, e.Status.Detail));
        }
        catch (NoDaemonReachableException e)
        {
            return DaemonResult<T>.NoDaemon(e.Failures);
        }
        catch (RpcException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{what} cancelled", e, cancellationToken);
        }
    }
}
