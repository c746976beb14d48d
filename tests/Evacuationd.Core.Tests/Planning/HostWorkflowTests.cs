using Evacuationd.Core.Compute;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Tests.Planning;

public class HostWorkflowTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Fenced = new(2026, 3, 2, 9, 58, 7, TimeSpan.Zero);

    private static HostRecord Planning() => new()
    {
        Name = "compute-01",
        FenceGeneration = 3,
        State = HostState.Planning,
        StateSince = Now.AddSeconds(-10),
        Source = FenceSource.FenceAgent,
        FencedAt = Fenced,
        History = [new Transition(Now.AddSeconds(-10), "", "planning", "fenced", "intake")],
    };

    private static ComputeService Service(bool forcedDown, bool enabled) =>
        new("svc-uuid-1", "compute-01", enabled, Up: false, forcedDown, enabled ? null : "maintenance");

    private static PlanningOptions Options(bool disable = true, int maxAttempts = 3) => new()
    {
        DisableOnFence = disable,
        MaxPlanningAttempts = maxAttempts,
        PlanningBackoff = TimeSpan.FromSeconds(2),
        PlanningBackoffMax = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public void NoComputeServiceFailsTheFencingNamingTheHost()
    {
        var step = Assert.IsType<HostStep.Write>(HostWorkflow.DecidePlanning(Planning(), null, Options(), Now, "daemon-a"));

        Assert.Equal(HostState.Failed, step.Next.State);
        Assert.Equal("no nova-compute service", step.Next.Error);
        Assert.Contains("no nova-compute service on host 'compute-01'", step.Next.Reason, StringComparison.Ordinal);
        Assert.Equal(Now, step.Next.StateSince);
        Assert.Equal(("planning", "failed", "daemon-a"), (step.Next.History[^1].From, step.Next.History[^1].To, step.Next.History[^1].Daemon));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ServiceNotForcedDownIsForcedDownFirst(bool enabled)
    {
        var service = Service(forcedDown: false, enabled: enabled);

        var step = Assert.IsType<HostStep.ForceDown>(HostWorkflow.DecidePlanning(Planning(), service, Options(), Now, "daemon-a"));

        Assert.Same(service, step.Service);
    }

    [Fact]
    public void EnabledServiceIsDisabledWithAReasonNamingTheFencing()
    {
        var service = Service(forcedDown: true, enabled: true);

        var step = Assert.IsType<HostStep.Disable>(HostWorkflow.DecidePlanning(Planning(), service, Options(), Now, "daemon-a"));

        Assert.Same(service, step.Service);
        Assert.Equal("evacuationd: fenced by fence-agent at 2026-03-02T09:58:07Z (compute-01:3)", step.Reason);
        Assert.Equal(step.Reason, HostWorkflow.DisabledReason(Planning()));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void ForcedDownServiceIsPlannedWhenNoDisableIsNeeded(bool disableOnFence, bool enabled)
    {
        var service = Service(forcedDown: true, enabled: enabled);

        var step = Assert.IsType<HostStep.Plan>(HostWorkflow.DecidePlanning(Planning(), service, Options(disableOnFence), Now, "daemon-a"));

        Assert.Same(service, step.Service);
    }

    [Fact]
    public void PlanningBackoffIsRespected()
    {
        var h = Planning() with { NotBefore = Now.AddSeconds(5), PlanningAttempts = 1 };

        var wait = Assert.IsType<HostStep.Wait>(HostWorkflow.DecidePlanning(h, Service(false, true), Options(), Now, "daemon-a"));
        var due = HostWorkflow.DecidePlanning(h, Service(false, true), Options(), Now.AddSeconds(5), "daemon-a");

        Assert.Equal(Now.AddSeconds(5), wait.Until);
        Assert.Contains("planning round 2", wait.Why, StringComparison.Ordinal);
        Assert.IsType<HostStep.ForceDown>(due);
    }

    [Theory]
    [InlineData(HostState.Held)]
    [InlineData(HostState.Evacuating)]
    [InlineData(HostState.Done)]
    [InlineData(HostState.Released)]
    public void PlanningDecisionOutsidePlanningIsFinished(HostState state)
    {
        Assert.IsType<HostStep.Finished>(HostWorkflow.DecidePlanning(Planning() with { State = state }, Service(true, false), Options(), Now, "d"));
    }

    [Fact]
    public void PlannedMovesToEvacuatingWithTheCounts()
    {
        var h = Planning() with { PlanningAttempts = 2, NotBefore = Now.AddSeconds(-1), Error = "timeout" };
        var records = new[]
        {
            Record("a", RecordState.Accepted),
            Record("b", RecordState.Accepted),
            Record("c", RecordState.Skipped),
        };

        var next = HostWorkflow.Planned(h, Service(true, false), records, Now, "daemon-a");

        Assert.Equal(HostState.Evacuating, next.State);
        Assert.Equal(("svc-uuid-1", true, true), (next.ServiceId, next.ForcedDown, next.Planned));
        Assert.Null(next.NotBefore);
        Assert.Null(next.Error);
        Assert.Equal(new RecordCounts(3, 2, 0, 0, 0, 1, 0), next.Counts);
        Assert.Equal("service forced down; 3 instance(s) found, 2 to evacuate, 1 skipped", next.Reason);
        Assert.Equal(h.History.Count + 1, next.History.Count);
        Assert.Equal(("planning", "evacuating"), (next.History[^1].From, next.History[^1].To));
    }

    [Fact]
    public void FailedPlanningRoundsBackOffAndThenFailTheFencing()
    {
        var options = Options(maxAttempts: 3);

        var first = HostWorkflow.PlanningFailed(Planning(), "Nova unreachable: timeout", options, Now, "daemon-a");
        var second = HostWorkflow.PlanningFailed(first, "Nova unreachable: 503", options, Now.AddSeconds(10), "daemon-a");
        var third = HostWorkflow.PlanningFailed(second, "Nova unreachable: 503 again", options, Now.AddSeconds(30), "daemon-a");

        Assert.Equal((HostState.Planning, 1, "Nova unreachable: timeout"), (first.State, first.PlanningAttempts, first.Error));
        Assert.Equal(Now + Backoff.After("compute-01:3", 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), first.NotBefore);
        Assert.Contains("planning round 1 failed: Nova unreachable: timeout", first.Reason, StringComparison.Ordinal);
        Assert.Equal(("planning", "planning"), (first.History[^1].From, first.History[^1].To));
        Assert.Equal(Planning().StateSince, first.StateSince);

        Assert.Equal((HostState.Planning, 2), (second.State, second.PlanningAttempts));
        Assert.Equal(Now.AddSeconds(10) + Backoff.After("compute-01:3", 2, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), second.NotBefore);

        Assert.Equal((HostState.Failed, 3, "Nova unreachable: 503 again"), (third.State, third.PlanningAttempts, third.Error));
        Assert.Contains("planning failed 3 times, last: Nova unreachable: 503 again", third.Reason, StringComparison.Ordinal);
        Assert.Contains("report the fence again", third.Reason, StringComparison.Ordinal);
        Assert.False(third.Planned);
    }

    [Fact]
    public void SinglePlanningAttemptFailsAtOnce()
    {
        Assert.Equal(HostState.Failed, HostWorkflow.PlanningFailed(Planning(), "boom", Options(maxAttempts: 1), Now, "d").State);
    }

    [Fact]
    public void CompletionWaitsWhileAnyRecordIsNotTerminal()
    {
        var h = Evacuating(total: 3);
        var records = new[] { Record("a", RecordState.Done), Record("b", RecordState.Rebuilding), Record("c", RecordState.Skipped) };

        var wait = Assert.IsType<HostStep.Wait>(HostWorkflow.DecideCompletion(h, records, Now, "d"));

        Assert.Equal("2 of 3 records ended", wait.Why);
    }

    [Fact]
    public void CompletionWaitsWhileFewerRecordsThanPlannedAreVisible()
    {
        var h = Evacuating(total: 3);

        var wait = Assert.IsType<HostStep.Wait>(HostWorkflow.DecideCompletion(h, [Record("a", RecordState.Done), Record("b", RecordState.Done)], Now, "d"));

        Assert.Equal("2 of 3 records ended", wait.Why);
    }

    [Fact]
    public void CompletionWithoutFailuresIsDone()
    {
        var h = Evacuating(total: 4);
        var records = new[] { Record("a", RecordState.Done), Record("b", RecordState.Done), Record("c", RecordState.Skipped), Record("d", RecordState.Cancelled) };

        var next = Assert.IsType<HostStep.Write>(HostWorkflow.DecideCompletion(h, records, Now, "daemon-a")).Next;

        Assert.Equal(HostState.Done, next.State);
        Assert.Equal("fencing ended: 2 done, 0 failed, 1 skipped, 1 cancelled", next.Reason);
        Assert.Equal(new RecordCounts(4, 0, 0, 2, 0, 1, 1), next.Counts);
        Assert.Equal(("evacuating", "done", Now), (next.History[^1].From, next.History[^1].To, next.StateSince));
    }

    [Fact]
    public void CompletionWithAnyFailedRecordIsFailedAndSaysWhereToLook()
    {
        var h = Evacuating(total: 2);

        var next = Assert.IsType<HostStep.Write>(HostWorkflow.DecideCompletion(h, [Record("a", RecordState.Done), Record("b", RecordState.Failed)], Now, "d")).Next;

        Assert.Equal(HostState.Failed, next.State);
        Assert.Contains("1 done, 1 failed", next.Reason, StringComparison.Ordinal);
        Assert.Contains("evacctl list --host compute-01 --state failed", next.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void HostWithoutInstancesIsDoneAtOnce()
    {
        var next = Assert.IsType<HostStep.Write>(HostWorkflow.DecideCompletion(Evacuating(total: 0), [], Now, "d")).Next;

        Assert.Equal(HostState.Done, next.State);
    }

    [Theory]
    [InlineData(HostState.Planning)]
    [InlineData(HostState.Done)]
    public void CompletionDecisionOutsideEvacuatingIsFinished(HostState state)
    {
        Assert.IsType<HostStep.Finished>(HostWorkflow.DecideCompletion(Evacuating(1) with { State = state }, [Record("a", RecordState.Done)], Now, "d"));
    }

    [Fact]
    public void AnEndedFencingWhoseRecordsRetentionDeletedStaysAsItEnded()
    {
        var ended = Ended(new RecordCounts(3, 0, 0, 2, 1, 0, 0));

        // Retention deleted one done record, then all of them: no retry, nothing to re-evaluate.
        var oneGone = HostWorkflow.DecideReopen(ended, [Record("a", RecordState.Done), Record("b", RecordState.Failed)], Now, "d");
        var allGone = HostWorkflow.DecideReopen(ended, [], Now, "d");

        Assert.IsType<HostStep.Finished>(oneGone);
        Assert.IsType<HostStep.Finished>(allGone);
        Assert.False(RecordCounts.Empty.RetriedSince(ended.Counts));
    }

    [Fact]
    public void AnEndedFencingWithARetriedRecordReopensOrIsReEvaluated()
    {
        var ended = Ended(new RecordCounts(3, 0, 0, 2, 1, 0, 0));

        var running = HostWorkflow.DecideReopen(ended, [Record("a", RecordState.Done), Record("b", RecordState.Done), Record("c", RecordState.Retrying)], Now, "d");
        // The retried record already ended done, and retention deleted another meanwhile.
        var redone = HostWorkflow.DecideReopen(ended, [Record("b", RecordState.Done), Record("c", RecordState.Done) with { UpdatedAt = Now }], Now, "d");

        Assert.Equal(HostState.Evacuating, Assert.IsType<HostStep.Write>(running).Next.State);
        var next = Assert.IsType<HostStep.Write>(redone).Next;
        Assert.Equal(HostState.Done, next.State);
        Assert.StartsWith("re-evaluated after retried records ended: 2 done, 0 failed", next.Reason, StringComparison.Ordinal);
    }

    /// <summary>A fencing that ended 5 s ago with <paramref name="counts"/> (its records ended before).</summary>
    private static HostRecord Ended(RecordCounts counts) => Evacuating(counts.Total) with
    {
        State = counts.Failed > 0 ? HostState.Failed : HostState.Done,
        StateSince = Now.AddSeconds(-5),
        Counts = counts,
    };

    private static HostRecord Evacuating(int total) => Planning() with
    {
        State = HostState.Evacuating,
        Planned = true,
        ForcedDown = true,
        Counts = new RecordCounts(total, total, 0, 0, 0, 0, 0),
    };

    private static InstanceRecord Record(string suffix, RecordState state) => new()
    {
        Id = $"compute-01:3:{suffix}",
        InstanceUuid = suffix,
        SourceHost = "compute-01",
        FenceGeneration = 3,
        State = state,
    };
}
