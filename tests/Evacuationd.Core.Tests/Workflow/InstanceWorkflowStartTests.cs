using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>Accepted: nothing asked of Nova yet.</summary>
public class InstanceWorkflowStartTests
{
    [Fact]
    public void AcceptedInstanceOnTheFencedHostStartsAttemptOneWithTheNewestMigrationAsBaseline()
    {
        var r = Accepted();
        var now = T0.AddSeconds(10);

        var next = Expect.Start(InstanceWorkflow.Decide(r, Untouched(Migration(3, "failed"), Migration(5, "completed")), At(now)));

        Assert.Equal(1, next.Attempt);
        Assert.Equal(now, next.AttemptStartedAt);
        Assert.Equal(5, next.BaselineMigrationId);
        Assert.Null(next.RequestedDestination);
        Assert.Null(next.AttemptRequestId);
        Assert.Null(next.OutcomeUnknownSince);
        Assert.Null(next.NotBefore);
        Assert.Equal(now, next.StateSince);
        Assert.Contains("attempt 1 of 3", next.Reason, StringComparison.Ordinal);
        Assert.Contains("from compute-01", next.Reason, StringComparison.Ordinal);
        Assert.Contains("scheduler", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(r, next, "accepted", "evacuating", now);
    }

    [Fact]
    public void AttemptWithoutEarlierMigrationsHasBaselineZero()
    {
        var next = Expect.Start(InstanceWorkflow.Decide(Accepted(), Untouched(), At(T0)));

        Assert.Equal(0, next.BaselineMigrationId);
    }

    [Fact]
    public void AttemptAsksForTheConfiguredTargetHost()
    {
        var next = Expect.Start(InstanceWorkflow.Decide(Accepted(), Untouched(), At(T0, options: Options(target: "compute-09"))));

        Assert.Equal("compute-09", next.RequestedDestination);
        Assert.Contains("to compute-09", next.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("active")]
    [InlineData("stopped")]
    [InlineData("error")]
    [InlineData("ACTIVE")]
    public void EvacuableVmStatesStartAnAttempt(string vm)
    {
        var next = Expect.Start(InstanceWorkflow.Decide(Accepted(), Nova(Server(vm: vm)), At(T0)));

        Assert.Equal(1, next.Attempt);
    }

    [Fact]
    public void HostNamesCompareCaseInsensitively()
    {
        Expect.Start(InstanceWorkflow.Decide(Accepted(), Nova(Server(host: "COMPUTE-01")), At(T0)));
    }

    [Fact]
    public void DeletedInstanceIsSkipped()
    {
        var r = Accepted();

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(null), At(T0)), RecordState.Skipped);

        Assert.Contains("no longer exists", next.Reason, StringComparison.Ordinal);
        Assert.Equal(0, next.Attempt);
        Expect.OneTransition(r, next, "accepted", "skipped", T0);
    }

    [Fact]
    public void InstanceAlreadyOnAnotherHostIsSkippedNamingBothHosts()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Accepted(), Nova(Server(host: "compute-07")), At(T0)), RecordState.Skipped);

        Assert.Contains("compute-07", next.Reason, StringComparison.Ordinal);
        Assert.Contains("compute-01", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InstanceWithoutHostIsSkipped()
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Accepted(), Nova(Server(host: null)), At(T0)), RecordState.Skipped);

        Assert.Contains("no host", next.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("paused")]
    [InlineData("suspended")]
    [InlineData("shelved_offloaded")]
    [InlineData("building")]
    public void NonEvacuableVmStatesAreSkippedWithTheState(string vm)
    {
        var next = Expect.Write(InstanceWorkflow.Decide(Accepted(), Nova(Server(vm: vm)), At(T0)), RecordState.Skipped);

        Assert.Contains($"vm_state '{vm}'", next.Reason, StringComparison.Ordinal);
        Assert.Contains("reset", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskStateSetWaitsOnePollForItToClear()
    {
        var r = Accepted(T0);

        var wait = Expect.Wait(InstanceWorkflow.Decide(r, Nova(Server(task: "powering-off")), At(T0.AddSeconds(10))));

        Assert.Equal(T0.AddSeconds(12), wait.Until);
        Assert.Contains("powering-off", wait.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskStateWaitNeverOvershootsTheTaskStateDeadline()
    {
        var wait = Expect.Wait(InstanceWorkflow.Decide(Accepted(T0), Nova(Server(task: "powering-off")), At(T0 + Min(5) - S(1))));

        Assert.Equal(T0 + Min(5), wait.Until);
    }

    [Fact]
    public void TaskStateThatNeverClearsFailsAtTaskStateTimeout()
    {
        var r = Accepted(T0);
        var now = T0 + Min(5);

        var next = Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(task: "powering-off")), At(now)), RecordState.Failed);

        Assert.Equal("task_state powering-off", next.Error);
        Assert.Contains("'powering-off' did not clear within 00:05:00", next.Reason, StringComparison.Ordinal);
        Assert.Equal(0, next.Attempt);
        Expect.OneTransition(r, next, "accepted", "failed", now);
    }

    [Fact]
    public void CancelRequestedBeforeAnyAttemptCancels()
    {
        var r = Accepted() with { CancelRequested = true };

        var next = Expect.Write(InstanceWorkflow.Decide(r, Untouched(), At(T0)), RecordState.Cancelled);

        Assert.Contains("cancelled by an operator", next.Reason, StringComparison.Ordinal);
        Expect.OneTransition(r, next, "accepted", "cancelled", T0);
    }

    [Fact]
    public void CancelWinsOverEveryOtherFinding()
    {
        var r = Accepted() with { CancelRequested = true };

        Expect.Write(InstanceWorkflow.Decide(r, Nova(null), At(T0)), RecordState.Cancelled);
        Expect.Write(InstanceWorkflow.Decide(r, Nova(Server(task: "rebuilding")), At(T0)), RecordState.Cancelled);
    }

    [Theory]
    [InlineData(RecordState.Done)]
    [InlineData(RecordState.Failed)]
    [InlineData(RecordState.Skipped)]
    [InlineData(RecordState.Cancelled)]
    public void TerminalRecordsAreFinished(RecordState state)
    {
        var r = Accepted() with { State = state };

        Assert.IsType<InstanceStep.Finished>(InstanceWorkflow.Decide(r, Untouched(), At(T0)));
    }

    /// <summary>
    /// S4 / FACTS: a second evacuate while one is in flight breaks the instance. An evacuation
    /// Nova is still running (here someone else's, in the ACTIVE-before-moved window: migration
    /// pre-migrating, task_state already null, host still the fenced one) must be waited for,
    /// not answered with our own evacuate call.
    /// </summary>
    [Fact]
    public void AcceptedDoesNotStartWhileNovaShowsAnEvacuationInProgress()
    {
        var nova = Nova(Server(task: null), Migration(3, "pre-migrating"));

        Expect.NotStart(InstanceWorkflow.Decide(Accepted(), nova, At(T0)));
    }
}
