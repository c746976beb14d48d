using System.Collections.Concurrent;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>
/// The Fencing service with scripted answers, recording every request: for the agent's failure
/// paths a real daemon does not produce on demand (its store out of reach, a refused
/// certificate, a stale answer). The happy paths run against the real daemon (<see cref="FenceAgentDaemonTests"/>).
/// </summary>
internal sealed class FakeFencing : Fencing.FencingBase
{
    /// <summary>Answers to ReportFenced, in order; when they run out, Created.</summary>
    public ConcurrentQueue<Func<ReportFencedRequest, ReportFencedResponse>> FenceAnswers { get; } = new();

    /// <summary>Answers to Check, in order; when they run out, a ready daemon.</summary>
    public ConcurrentQueue<Func<CheckRequest, CheckResponse>> CheckAnswers { get; } = new();

    public ConcurrentQueue<ReportFencedRequest> Fenced { get; } = new();

    public ConcurrentQueue<ReportPoweredOnRequest> PoweredOn { get; } = new();

    public int Checks;

    public static Func<ReportFencedRequest, ReportFencedResponse> Throws(StatusCode code, string detail) =>
        _ => throw new RpcException(new Status(code, detail));

    public override Task<ReportFencedResponse> ReportFenced(ReportFencedRequest request, ServerCallContext context)
    {
        Fenced.Enqueue(request);
        var answer = FenceAnswers.TryDequeue(out var next)
            ? next(request)
            : new ReportFencedResponse { EvacuationId = $"{request.Host}:1", FenceGeneration = 1, Outcome = FenceOutcome.Created, Message = "fencing recorded" };
        return Task.FromResult(answer);
    }

    public override Task<ReportPoweredOnResponse> ReportPoweredOn(ReportPoweredOnRequest request, ServerCallContext context)
    {
        PoweredOn.Enqueue(request);
        return Task.FromResult(new ReportPoweredOnResponse { Message = $"power-on of {request.Host} recorded" });
    }

    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Checks);
        return Task.FromResult(CheckAnswers.TryDequeue(out var next)
            ? next(request)
            : new CheckResponse { DaemonId = "fake-1", Caller = "CN=fencer", Role = "fencer", Ready = true });
    }
}
