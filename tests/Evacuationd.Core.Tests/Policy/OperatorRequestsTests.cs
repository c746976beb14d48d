using Evacuationd.Core.Records;
using Evacuationd.Core.Tests.Support;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;

namespace Evacuationd.Core.Tests.Policy;

/// <summary>Operators' retry and cancel, as the owner applies them.</summary>
public class OperatorRequestsTests
{
    private static OperatorRequest Request(OperatorAction action) => new(Id, action, "checked the host", "alice", T0);

    [Fact]
    public void ARetriedFailedRecordGetsMaxAttemptsMoreAttempts()
    {
        var failed = Accepted() with { State = RecordState.Failed, Attempt = 3, Adoptions = 4, Slot = 7, CancelRequested = true };

        var retried = OperatorRequests.Apply(failed, Request(OperatorAction.Retry), T0, Owner)!;
        var step = InstanceWorkflow.Decide(retried, Nova(Server()), At(T0));

        Assert.Equal(RecordState.Accepted, retried.State);
        Assert.Equal((3, 0, (int?)null, false), (retried.AttemptBase, retried.Adoptions, retried.Slot, retried.CancelRequested));
        Assert.Contains("retried by alice: checked the host", retried.Reason, StringComparison.Ordinal);
        var start = Assert.IsType<InstanceStep.StartAttempt>(step);
        Assert.Equal(4, start.Next.Attempt);
        Assert.Contains("attempt 4 of 6", start.Next.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RecordState.Done, OperatorAction.Retry)]
    [InlineData(RecordState.Rebuilding, OperatorAction.Retry)]
    [InlineData(RecordState.Done, OperatorAction.Cancel)]
    [InlineData(RecordState.Skipped, OperatorAction.Cancel)]
    public void RequestsThatDoNotFitTheRecordAreRefusedWithTheReason(RecordState state, OperatorAction action)
    {
        var r = Accepted() with { State = state };

        Assert.NotNull(OperatorRequests.WhyRefused(r, action));
        Assert.Null(OperatorRequests.Apply(r, Request(action), T0, Owner));
    }

    [Fact]
    public void ACancelEndsARecordWithNothingInFlightAndWaitsForOneInFlight()
    {
        var accepted = OperatorRequests.Apply(Accepted(), Request(OperatorAction.Cancel), T0, Owner)!;
        var rebuilding = OperatorRequests.Apply(Rebuilding(), Request(OperatorAction.Cancel), T0, Owner)!;

        Assert.True(accepted.CancelRequested);
        Assert.Contains("cancel requested by alice", accepted.History[^1].Reason, StringComparison.Ordinal);
        var end = Expect.Write(InstanceWorkflow.Decide(accepted, Nova(Server()), At(T0)), RecordState.Cancelled);
        Assert.Contains("cancelled by an operator", end.Reason, StringComparison.Ordinal);
        // In flight: Nova finishes first; the record follows it (never a second call).
        Assert.IsType<InstanceStep.Wait>(InstanceWorkflow.Decide(rebuilding, Nova(Server(task: "rebuilding"), Migration(6, "pre-migrating")), At(T0.AddSeconds(5))));
    }
}
