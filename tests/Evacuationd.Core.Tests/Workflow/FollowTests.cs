using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>Rebuilding: Nova accepted the attempt (attempt recorded at T0, accepted at T0 + 1 s, baseline 5).</summary>
public class FollowTests
{
    private static readonly InstanceRecord R = Rebuilding(baseline: 5);

    [Theory]
    [InlineData("accepted", "rebuilding")]
    [InlineData("pre-migrating", "rebuilding")]
    [InlineData("pre-migrating", "rebuild_spawning")]
    [InlineData("migrating", "rebuild_spawning")]
    public void MigrationInProgressWaitsOnePoll(string status, string task)
    {
        var now = T0.AddSeconds(5);

        var wait = Expect.Wait(InstanceWorkflow.Decide(R, Nova(Server(task: task), Migration(6, status)), At(now)));

        Assert.Equal(now + S(2), wait.Until);
        Assert.Contains($"migration 6 {status}", wait.Why, StringComparison.Ordinal);
    }

    /// <summary>FACTS: the server is briefly ACTIVE with task_state null while its host is still the failed host.</summary>
    [Theory]
    [InlineData("pre-migrating")]
    [InlineData("done")]
    [InlineData("completed")]
    public void ActiveWithTaskClearedButStillOnTheFencedHostIsNotDone(string status)
    {
        var step = InstanceWorkflow.Decide(R, Nova(Server(host: Source, task: null), Migration(6, status)), At(T0.AddSeconds(5)));

        Expect.Wait(step);
    }

    [Fact]
    public void DoneMigrationOnANewHostWithTaskClearedIsDone()
    {
        var now = T0.AddSeconds(40);

        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(host: Dest), Migration(5, "completed"), Migration(6, "done")), At(now)), RecordState.Done);

        Assert.Equal(Dest, next.DestinationHost);
        Assert.Null(next.Error);
        Assert.Contains("rebuilt the instance on compute-02", next.Reason, StringComparison.Ordinal);
        Assert.Contains("migration 6 done", next.Reason, StringComparison.Ordinal);
        Assert.Contains("ACTIVE", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(R, next, "rebuilding", "done", now);
    }

    [Fact]
    public void CompletedMigrationCountsAsDone()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(host: Dest, vm: "stopped"), Migration(6, "completed")), At(T0.AddSeconds(40))), RecordState.Done);

        Assert.Equal(Dest, next.DestinationHost);
    }

    [Fact]
    public void DoneMigrationWhileTaskStateIsStillSetWaits()
    {
        Expect.Wait(InstanceWorkflow.Decide(R, Nova(Server(host: Dest, task: "rebuild_spawning"), Migration(6, "done")), At(T0.AddSeconds(40))));
    }

    [Fact]
    public void DoneMigrationWithTheInstanceInErrorOnItsNewHostFails()
    {
        // Evacuate cannot help an instance that already lives on a healthy host: retrying would only skip it.
        var now = T0.AddSeconds(40);

        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(host: Dest, vm: "error", fault: "InstanceExists"), Migration(6, "done")), At(now)), RecordState.Failed);

        Assert.Contains("ERROR there", next.Reason, StringComparison.Ordinal);
        Assert.Contains("InstanceExists", next.Reason, StringComparison.Ordinal);
        Assert.Contains(Dest, next.Reason, StringComparison.Ordinal);
        Assert.Equal(Dest, next.DestinationHost);
        Assert.Null(next.NotBefore);
    }

    [Theory]
    [InlineData("error")]
    [InlineData("failed")]
    public void FailedMigrationRetriesAfterTheBackoff(string status)
    {
        var now = T0.AddSeconds(20);

        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(fault: "NoValidHost"), Migration(6, status)), At(now)), RecordState.Retrying);

        var notBefore = now + Backoff.After(Id, 1, S(10), Min(2));
        Assert.Equal(notBefore, next.NotBefore);
        Assert.Equal(1, next.Attempt);
        Assert.Contains($"migration 6 of attempt 1 ended '{status}'", next.Error, StringComparison.Ordinal);
        Assert.Contains("NoValidHost", next.Reason, StringComparison.Ordinal);
        Assert.Contains($"attempt 2 of 3 not before {notBefore:O}", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(R, next, "rebuilding", "retrying", now);
    }

    [Fact]
    public void FailedMigrationOfTheLastAttemptFails()
    {
        var r = Rebuilding(attempt: 3, baseline: 5);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(), Migration(6, "error")), At(T0.AddSeconds(20))), RecordState.Failed);

        Assert.Contains("all 3 attempts used", next.Reason, StringComparison.Ordinal);
        Assert.Contains("migration 6", next.Reason, StringComparison.Ordinal);
        Assert.Null(next.NotBefore);
    }

    [Fact]
    public void FailedMigrationWithACancelRequestCancels()
    {
        var r = Rebuilding(baseline: 5, cancel: true);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(), Migration(6, "error")), At(T0.AddSeconds(20))), RecordState.Cancelled);

        Assert.Contains("cancelled by an operator", next.Reason, StringComparison.Ordinal);
        Assert.Contains("migration 6", next.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void CancelIsNotHonouredWhileTheMigrationRuns()
    {
        var r = Rebuilding(baseline: 5, cancel: true);

        Expect.Wait(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding"), Migration(6, "pre-migrating")), At(T0.AddSeconds(20))));
    }

    [Fact]
    public void FailedMigrationWhileTaskStateIsStillSetWaits()
    {
        Expect.Wait(InstanceWorkflow.Decide(R, Nova(Server(task: "rebuilding"), Migration(6, "error")), At(T0.AddSeconds(20))));
    }

    [Fact]
    public void RebuildTimeoutWhileTheMigrationRunsFailsAndIsNeverReissued()
    {
        var now = T0 + Min(15);

        var step = InstanceWorkflow.Decide(R, Nova(Server(task: "rebuilding"), Migration(6, "pre-migrating")), At(now));

        var next = Expect.Write(step, RecordState.Failed);
        Assert.Equal("migration 6 pre-migrating", next.Error);
        Assert.Contains("within 00:15:00", next.Reason, StringComparison.Ordinal);
        Assert.Contains("Not re-issued", next.Reason, StringComparison.Ordinal);
        Assert.Equal(1, next.Attempt);
    }

    [Fact]
    public void RebuildDeadlineCountsFromTheAttemptStart()
    {
        var wait = Expect.Wait(InstanceWorkflow.Decide(R, Nova(Server(task: "rebuilding"), Migration(6, "pre-migrating")), At(T0 + Min(15) - S(1))));

        Assert.Equal(T0 + Min(15), wait.Until);
    }

    [Fact]
    public void AcceptedCallWithoutMigrationYetWaitsWhileNovaIsBusy()
    {
        var wait = Expect.Wait(InstanceWorkflow.Decide(R, Nova(Server(task: "rebuilding"), Migration(5, "completed")), At(T0 + Min(3))));

        Assert.Contains("waiting for Nova's migration of attempt 1", wait.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptedCallThatLeftNoTraceForCallSettleRetries()
    {
        var since = T0.AddSeconds(1);

        Expect.Wait(InstanceWorkflow.Decide(R, Untouched(Migration(5, "completed")), At(since + S(59))));
        var next = Expect.Write(InstanceWorkflow.Decide(R, Untouched(Migration(5, "completed")), At(since + S(60))), RecordState.Retrying);

        Assert.Contains("request req-1", next.Reason, StringComparison.Ordinal);
        Assert.Contains("no evacuation migration and no task", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NoMigrationUntilTheRebuildTimeoutFails()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(task: "rebuilding")), At(T0 + Min(15))), RecordState.Failed);

        Assert.Contains("no migration for attempt 1 after 00:15:00", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InstanceDeletedWhileRebuildingIsSkipped()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(null, Migration(6, "pre-migrating")), At(T0.AddSeconds(9))), RecordState.Skipped);

        Assert.Contains("deleted while Nova rebuilt it (attempt 1)", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralMigrationsForOneAttemptAreNamedInTheReason()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(R, Nova(Server(host: Dest), Migration(6, "failed"), Migration(7, "done")), At(T0.AddSeconds(40))), RecordState.Done);

        Assert.Contains("migration 7", next.Reason, StringComparison.Ordinal);
        Assert.Contains("2 migrations", next.Reason, StringComparison.Ordinal);
    }
}
