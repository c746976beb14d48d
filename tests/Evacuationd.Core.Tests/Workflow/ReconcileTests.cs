using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>Evacuating: the attempt is recorded; did its call reach Nova? (S4)</summary>
public class ReconcileTests
{
    [Fact]
    public void MigrationNewerThanTheBaselineMeansTheCallArrivedAndMovesToRebuilding()
    {
        var r = Evacuating(baseline: 5);
        var now = T0.AddSeconds(3);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding"), Migration(5, "completed"), Migration(6, "accepted")), At(now)), RecordState.Rebuilding);

        Assert.Contains("migration 6 (accepted)", next.Reason, StringComparison.Ordinal);
        Assert.Contains("attempt 1", next.Reason, StringComparison.Ordinal);
        Assert.Equal(now, next.StateSince);
        Assert.Equal(1, next.Attempt);
        Assert.Equal(T0, next.AttemptStartedAt);
        Expect.OneTransition(r, next, "evacuating", "rebuilding", now);
    }

    [Fact]
    public void MigrationAtTheBaselineIsNotATraceOfTheAttempt()
    {
        var r = Evacuating(baseline: 5);

        var wait = Expect.Wait(InstanceWorkflow.Decide(r, Untouched(Migration(5, "accepted")), At(T0.AddSeconds(10))));

        Assert.Equal(T0.AddSeconds(12), wait.Until);
    }

    [Fact]
    public void NovaAlreadyFinishedGoesStraightToDone()
    {
        var r = Evacuating(baseline: 5);
        var now = T0.AddSeconds(30);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(host: Dest), Migration(6, "done")), At(now)), RecordState.Done);

        Assert.Equal(Dest, next.DestinationHost);
        Assert.Contains("compute-02", next.Reason, StringComparison.Ordinal);
        Assert.Contains("migration 6", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(r, next, "evacuating", "done", now);
    }

    [Theory]
    [InlineData("pre-migrating")]
    [InlineData("done")]
    [InlineData("completed")]
    public void ActiveWhileStillOnTheFencedHostIsRebuildingNotDone(string status)
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Evacuating(baseline: 5), Nova(Server(task: null), Migration(6, status)), At(T0.AddSeconds(5))), RecordState.Rebuilding);

        Assert.Null(next.DestinationHost);
    }

    [Fact]
    public void FailedMigrationOfTheAttemptRetriesAfterBackoff()
    {
        var now = T0.AddSeconds(20);

        var next = Expect.Write(InstanceWorkflow.Decide(Evacuating(baseline: 5), Nova(Server(), Migration(6, "error")), At(now)), RecordState.Retrying);

        Assert.Equal(now + Backoff.After(Id, 1, S(10), Min(2)), next.NotBefore);
    }

    [Fact]
    public void NoTraceWaitsAPollAtATimeUntilCallSettle()
    {
        var r = Evacuating(baseline: 5);

        var early = Expect.Wait(InstanceWorkflow.Decide(r, Untouched(Migration(5, "completed")), At(T0.AddSeconds(30))));
        var last = Expect.Wait(InstanceWorkflow.Decide(r, Untouched(Migration(5, "completed")), At(T0.AddSeconds(59))));

        Assert.Equal(T0.AddSeconds(32), early.Until);
        Assert.Equal(T0.AddSeconds(60), last.Until);
        Assert.Contains("no trace of attempt 1", early.Why, StringComparison.Ordinal);
        Assert.Contains($"{T0.AddSeconds(60):O}", early.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void NoTraceForCallSettleStartsTheNextAttemptWithANewBaseline()
    {
        var r = Evacuating(baseline: 5);
        var now = T0.AddSeconds(60);

        var next = Expect.Start(InstanceWorkflow.Decide(r, Untouched(Migration(5, "completed")), At(now)));

        Assert.Equal(2, next.Attempt);
        Assert.Equal(now, next.AttemptStartedAt);
        Assert.Equal(5, next.BaselineMigrationId);
        Assert.Contains("attempt 1 left no trace", next.Reason, StringComparison.Ordinal);
        Assert.Contains("attempt 2 of 3", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(r, next, "evacuating", "evacuating", now);
    }

    [Fact]
    public void CallSettleCountsFromTheSuccessorsClaim()
    {
        var r = Evacuating(baseline: 5);
        var claimed = T0 + Min(5);

        var wait = Expect.Wait(InstanceWorkflow.Decide(r, Untouched(Migration(5, "completed")), At(claimed + S(59), ownedSince: claimed, daemon: Successor)));
        var next = Expect.Start(InstanceWorkflow.Decide(r, Untouched(Migration(5, "completed")), At(claimed + S(60), ownedSince: claimed, daemon: Successor)));

        Assert.Equal(claimed + S(60), wait.Until);
        Assert.Equal(2, next.Attempt);
        Assert.Equal(Successor, next.History[^1].Daemon);
    }

    [Fact]
    public void CallSettleCountsFromAnUnknownOutcome()
    {
        var unknownAt = T0.AddSeconds(40);
        var r = Evacuating(baseline: 5, outcomeUnknownSince: unknownAt);

        var wait = Expect.Wait(InstanceWorkflow.Decide(r, Untouched(), At(T0.AddSeconds(99))));
        var next = Expect.Start(InstanceWorkflow.Decide(r, Untouched(), At(T0.AddSeconds(100))));

        Assert.Equal(T0.AddSeconds(100), wait.Until);
        Assert.Equal(2, next.Attempt);
        Assert.Null(next.OutcomeUnknownSince);
    }

    [Fact]
    public void NoTraceAfterTheLastAttemptFails()
    {
        var r = Evacuating(attempt: 3, baseline: 5);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Untouched(), At(T0.AddSeconds(60))), RecordState.Failed);

        Assert.Contains("attempt 3 left no trace", next.Reason, StringComparison.Ordinal);
        Assert.Contains("all 3 attempts used", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskStateWithoutMigrationWaitsAndNeverStartsAnotherAttempt()
    {
        var r = Evacuating(baseline: 5);
        var now = T0 + Min(10);

        var wait = Expect.Wait(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding"), Migration(5, "completed")), At(now)));

        Assert.Equal(now + S(2), wait.Until);
        Assert.Contains("task_state 'rebuilding'", wait.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskStateWithoutMigrationFailsAtTheRebuildTimeoutWithoutReissuing()
    {
        var r = Evacuating(baseline: 5);
        var now = T0 + Min(15);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding")), At(now)), RecordState.Failed);

        Assert.Contains("not re-issued", next.Reason, StringComparison.Ordinal);
        Assert.Equal(1, next.Attempt);
        Assert.Equal(T0 + Min(15) - S(1), Expect.Wait(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding")), At(now - S(3)))).Until);
    }

    [Fact]
    public void InstanceDeletedDuringTheAttemptIsSkipped()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Evacuating(), Nova(null), At(T0.AddSeconds(5))), RecordState.Skipped);

        Assert.Contains("deleted during attempt 1", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InstanceMovedWithoutAMigrationOfOursIsSkipped()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Evacuating(baseline: 5), Nova(Server(host: "compute-05"), Migration(5, "done")), At(T0.AddSeconds(5))), RecordState.Skipped);

        Assert.Contains("compute-05", next.Reason, StringComparison.Ordinal);
        Assert.Contains("outside evacuationd", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CancelIsHonouredOnlyOnceTheCallCanNoLongerBeInFlight()
    {
        var r = Evacuating(cancel: true);

        Expect.Wait(InstanceWorkflow.Decide(r, Untouched(), At(T0.AddSeconds(59))));
        var next = Expect.Write(InstanceWorkflow.Decide(r, Untouched(), At(T0.AddSeconds(60))), RecordState.Cancelled);

        Assert.Contains("cancelled by an operator", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CancelIsNotHonouredWhileTheAttemptsMigrationRuns()
    {
        var r = Evacuating(cancel: true);

        Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding"), Migration(1, "pre-migrating")), At(T0 + Min(2))), RecordState.Rebuilding);
    }
}
