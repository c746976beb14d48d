using global::Grpc.Core;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Grpc;

/// <summary>evacuationd.v1.Agent: designed, not served yet; every call says so.</summary>
internal sealed class AgentService : V1.Agent.AgentBase
{
    private const string Missing = "is not implemented in this build: the compute-node agent (check-in, split-brain guard, start gate, host release) arrives with evacuationd-agent";

    public override Task<V1.CheckInResponse> CheckIn(V1.CheckInRequest request, ServerCallContext context) =>
        throw Unimplemented.Because($"Agent.CheckIn {Missing}");

    public override Task<V1.ReportSelfChecksResponse> ReportSelfChecks(V1.ReportSelfChecksRequest request, ServerCallContext context) =>
        throw Unimplemented.Because($"Agent.ReportSelfChecks {Missing}");

    public override Task<V1.ReportGuardResponse> ReportGuard(V1.ReportGuardRequest request, ServerCallContext context) =>
        throw Unimplemented.Because($"Agent.ReportGuard {Missing}");

    public override Task<V1.StartGateResponse> GetStartGate(V1.StartGateRequest request, ServerCallContext context) =>
        throw Unimplemented.Because($"Agent.GetStartGate {Missing}");

    public override Task<V1.Host> RequestRelease(V1.RequestReleaseRequest request, ServerCallContext context) =>
        throw Unimplemented.Because($"Agent.RequestRelease {Missing}");
}
