using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>Retrying: attempt 1 (baseline 5, migration 6) ended in Nova at T0 + 30 s; attempt 2 is due at T0 + 45 s.</summary>
public class RetryTests
{
    private static readonly DateTimeOffset FailedAt = T0.AddSeconds(30);
    private static readonly DateTimeOffset NotBefore = T0.AddSeconds(45);
    private static readonly InstanceRecord R = Retrying(1, 5, FailedAt, NotBefore);

    [Fact]
    public void BeforeNotBeforeWaitsExactlyUntilNotBefore()
    {
        var wait = Expect.Wait(InstanceWorkflow.Decide(R, Untouched(Migration(6, "error")), At(T0.AddSeconds(31))));

        Assert.Equal(NotBefore, wait.Until);
        Assert.Contains("attempt 2", wait.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void AtNotBeforeStartsTheNextAttemptWithTheNewBaseline()
    {
        var next = Expect.Start(InstanceWorkflow.Decide(R, Untouched(Migration(5, "completed"), Migration(6, "error")), At(NotBefore)));

        Assert.Equal(2, next.Attempt);
        Assert.Equal(NotBefore, next.AttemptStartedAt);
        Assert.Equal(6, next.BaselineMigrationId);
        Assert.Null(next.NotBefore);
        Assert.Null(next.AttemptRequestId);
        Assert.Null(next.OutcomeUnknownSince);
        Assert.Equal(NotBefore, next.StateSince);
        Assert.Contains("attempt 2 of 3", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(R, next, "retrying", "evacuating", NotBefore);
    }

    [Fact]
    public void CancelRequestedWhileWaitingToRetryCancelsAtOnce()
    {
        var r = R with { CancelRequested = true };

        var next = Expect.Write(InstanceWorkflow.Decide(r, Untouched(Migration(6, "error")), At(T0.AddSeconds(31))), RecordState.Cancelled);

        Assert.Contains("while waiting to retry", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskStateDueToSomeoneElseDelaysTheRetryAndThenFails()
    {
        var nova = Nova(Server(task: "rebuilding"), Migration(6, "error"));

        var wait = Expect.Wait(InstanceWorkflow.Decide(R, nova, At(NotBefore)));
        var failed = Expect.Write(InstanceWorkflow.Decide(R, nova, At(FailedAt + Min(5))), RecordState.Failed);

        Assert.Equal(NotBefore + S(2), wait.Until);
        Assert.Contains("task_state 'rebuilding' did not clear", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InstanceDeletedMeanwhileIsSkipped()
    {
        Expect.Write(InstanceWorkflow.Decide(R, Nova(null), At(NotBefore)), RecordState.Skipped);
    }

    [Fact]
    public void LastAttemptUsedFailsInsteadOfRetrying()
    {
        var r = Retrying(3, 5, FailedAt, NotBefore);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Untouched(Migration(6, "error")), At(NotBefore)), RecordState.Failed);

        Assert.Contains("all 3 attempts used", next.Reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// S4: a migration newer than the record's baseline that has not ended (here the second of
    /// two migrations Nova made for attempt 1, left 'accepted' next to the failed one, as FACTS
    /// describes after a double evacuate) means Nova may still run something: no new call.
    /// </summary>
    [Fact]
    public void RetryDoesNotStartWhileAMigrationNewerThanTheBaselineIsStillRunning()
    {
        var nova = Nova(Server(task: null), Migration(7, "accepted"), Migration(8, "error"));

        Expect.NotStart(InstanceWorkflow.Decide(R, nova, At(NotBefore)));
    }

    /// <summary>
    /// Nova rebuilt the instance on compute-02 but it ended in ERROR there. A retry cannot move it
    /// (it is no longer on the fenced host, and evacuate needs its host's service down), so the
    /// record must end failed, with the error, not "skipped: nothing to evacuate": a skipped record
    /// counts as success and the host's fencing would end done with a broken instance.
    /// </summary>
    [Fact]
    public void InstanceThatEndedInErrorOnTheDestinationEndsFailedNotSkipped()
    {
        var rebuilding = Rebuilding(baseline: 5);
        var nova = Nova(Server(host: Dest, vm: "error", fault: "InstanceExists"), Migration(6, "done"));
        var first = InstanceWorkflow.Decide(rebuilding, nova, At(T0.AddSeconds(40)));
        var r = Assert.IsType<InstanceStep.Write>(first).Next;
        if (r.State == RecordState.Retrying)
        {
            r = Assert.IsType<InstanceStep.Write>(InstanceWorkflow.Decide(r, nova, At(r.NotBefore!.Value))).Next;
        }

        Assert.Equal(RecordState.Failed, r.State);
        Assert.Contains("ERROR", r.Reason, StringComparison.Ordinal);
    }
}
