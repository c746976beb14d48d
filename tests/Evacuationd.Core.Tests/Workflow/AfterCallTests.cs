using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>The answer of this daemon's own evacuate call for attempt 1 (recorded at T0, answered at T0 + 1 s).</summary>
public class AfterCallTests
{
    private static readonly InstanceRecord R = Evacuating(baseline: 5);
    private static readonly DateTimeOffset Now = T0.AddSeconds(1);

    [Fact]
    public void AcceptedCallMovesToRebuildingWithTheRequestId()
    {
        var next = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Accepted("req-abc"), At(Now)), RecordState.Rebuilding);

        Assert.Equal("req-abc", next.AttemptRequestId);
        Assert.Null(next.OutcomeUnknownSince);
        Assert.Null(next.Error);
        Assert.Equal(Now, next.StateSince);
        Assert.Contains("accepted attempt 1 (request req-abc)", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(R, next, "evacuating", "rebuilding", Now);
        Assert.Equal("req-abc", next.History[^1].RequestId);
    }

    [Fact]
    public void AcceptedCallWithoutRequestIdSaysSo()
    {
        var next = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Accepted(null), At(Now)), RecordState.Rebuilding);

        Assert.Contains("without id", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptedCallClearsAnEarlierUnknownOutcome()
    {
        var r = R with { OutcomeUnknownSince = T0, Error = "timeout" };

        var next = Expect.Write(InstanceWorkflow.AfterCall(r, EvacuateOutcome.Accepted("req-abc"), At(Now)), RecordState.Rebuilding);

        Assert.Null(next.OutcomeUnknownSince);
        Assert.Null(next.Error);
    }

    [Fact]
    public void NotFoundSkips()
    {
        var next = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Rejected(404, "Instance could not be found", "req-404"), At(Now)), RecordState.Skipped);

        Assert.Contains("(404)", next.Reason, StringComparison.Ordinal);
        Assert.Equal("Instance could not be found", next.Error);
        Assert.Equal("req-404", next.AttemptRequestId);
        Assert.Equal("req-404", next.History[^1].RequestId);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public void ForbiddenFailsAndPointsAtCredentials(int status)
    {
        var next = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Rejected(status, "Policy doesn't allow os_compute_api:os-evacuate", "req-x"), At(Now)), RecordState.Failed);

        Assert.Contains($"({status})", next.Reason, StringComparison.Ordinal);
        Assert.Contains("credentials", next.Reason, StringComparison.Ordinal);
        Assert.Contains("os-evacuate", next.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400, "Compute service of compute-01 is still in use.")]
    [InlineData(409, "Cannot 'evacuate' instance while it is in task_state rebuilding")]
    public void OtherRejectionsRetryAfterTheBackoff(int status, string message)
    {
        var next = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Rejected(status, message, "req-r"), At(Now)), RecordState.Retrying);

        var notBefore = Now + Backoff.After(Id, 1, S(10), Min(2));
        Assert.Equal(notBefore, next.NotBefore);
        Assert.Contains($"rejected attempt 1 ({status}): {message}", next.Reason, StringComparison.Ordinal);
        Assert.Contains("attempt 2 of 3", next.Reason, StringComparison.Ordinal);
        Assert.Equal("req-r", next.AttemptRequestId);
        Expect.OneTransition(R, next, "evacuating", "retrying", Now);
    }

    [Fact]
    public void RejectionOfTheLastAttemptFails()
    {
        var r = Evacuating(attempt: 3, baseline: 5);

        var next = Expect.Write(InstanceWorkflow.AfterCall(r, EvacuateOutcome.Rejected(400, "still in use", null), At(Now)), RecordState.Failed);

        Assert.Contains("all 3 attempts used", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectionWithACancelRequestCancels()
    {
        var r = Evacuating(baseline: 5, cancel: true);

        Expect.Write(InstanceWorkflow.AfterCall(r, EvacuateOutcome.Rejected(409, "conflict", null), At(Now)), RecordState.Cancelled);
    }

    [Fact]
    public void UnknownOutcomeStaysEvacuatingAndNotesWhen()
    {
        var now = T0.AddSeconds(30);

        var step = InstanceWorkflow.AfterCall(R, EvacuateOutcome.Unknown("timeout after 30 s", "req-t"), At(now));

        var next = Expect.Write(step, RecordState.Evacuating);
        Assert.Equal(now, next.OutcomeUnknownSince);
        Assert.Equal("timeout after 30 s", next.Error);
        Assert.Equal(1, next.Attempt);
        Assert.Equal(T0, next.StateSince);
        Assert.Equal(T0, next.AttemptStartedAt);
        Assert.Contains("outcome of attempt 1 unknown (timeout after 30 s)", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(R, next, "evacuating", "evacuating", now);
    }

    [Fact]
    public void AfterAnUnknownOutcomeTheNextAttemptWaitsCallSettleFromThatMoment()
    {
        var noted = Expect.Write(InstanceWorkflow.AfterCall(R, EvacuateOutcome.Unknown("connection reset"), At(T0.AddSeconds(30))), RecordState.Evacuating);

        Expect.Wait(InstanceWorkflow.Decide(noted, Untouched(), At(T0.AddSeconds(89))));
        Assert.Equal(2, Expect.Start(InstanceWorkflow.Decide(noted, Untouched(), At(T0.AddSeconds(90)))).Attempt);
    }
}
