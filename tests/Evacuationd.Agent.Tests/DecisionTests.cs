using Evacuationd.Agent.Decisions;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Tests;

/// <summary>The agent's decisions, pure: what to destroy, when the host is clean, when to ask for a release, when the gate opens.</summary>
public sealed class DecisionTests
{
    private static readonly Guid A = Guid.Parse("a0000000-0000-4000-8000-000000000001");
    private static readonly Guid B = Guid.Parse("b0000000-0000-4000-8000-000000000002");
    private static readonly Guid C = Guid.Parse("c0000000-0000-4000-8000-000000000003");

    private static EvacuatedInstance Evacuated(string uuid) => new() { InstanceUuid = uuid, RecordId = "r", FenceGeneration = 1 };

    private static Host InState(HostState state) => new() { Name = "compute-01", State = state, StateName = state.ToString().ToLowerInvariant(), EvacuationId = "compute-01:1" };

    [Fact]
    public void OnlyEvacuatedInstancesThatRunHereAreDestroyedWhateverTheUuidsCase()
    {
        var evacuated = GuardDecision.Parse([Evacuated(A.ToString().ToUpperInvariant()), Evacuated(B.ToString()), Evacuated(A.ToString())]);

        var targets = GuardDecision.ToDestroy(evacuated, new HashSet<Guid> { A, C });

        Assert.Equal(2, evacuated.Count); // the same instance twice is one
        Assert.Equal([A], targets.Select(t => t.Uuid));
    }

    [Fact]
    public void CleanMeansNoEvacuatedInstanceRunsAndEveryOneCouldBeLookedFor()
    {
        var evacuated = GuardDecision.Parse([Evacuated(A.ToString()), Evacuated(B.ToString())]);

        Assert.True(GuardDecision.IsClean(evacuated, new HashSet<Guid> { C }));
        Assert.False(GuardDecision.IsClean(evacuated, new HashSet<Guid> { B, C }));
        Assert.False(GuardDecision.IsClean(GuardDecision.Parse([Evacuated("not-a-uuid")]), new HashSet<Guid>()));
        Assert.True(GuardDecision.IsClean([], new HashSet<Guid> { A }));
    }

    [Theory]
    [InlineData(null, true, true, true, false, "never fenced")]
    [InlineData(HostState.Planning, true, true, true, false, "has not ended")]
    [InlineData(HostState.Held, true, true, true, false, "has not ended")]
    [InlineData(HostState.Evacuating, true, true, true, false, "has not ended")]
    [InlineData(HostState.Unspecified, true, true, true, false, "has not ended")]
    [InlineData(HostState.Done, false, true, true, false, "not clean")]
    [InlineData(HostState.Done, true, false, true, false, "did not reach a daemon")]
    [InlineData(HostState.Done, true, true, false, false, "--release off")]
    [InlineData(HostState.Released, true, true, true, false, "in service")]
    [InlineData(HostState.Done, true, true, true, true, "ended")]
    [InlineData(HostState.Failed, true, true, true, true, "ended")]
    public void ReleaseIsRequestedOnlyWhenTheFencingEndedAndTheGuardIsCleanAndReported(
        HostState? state, bool clean, bool reported, bool releaseOn, bool request, string why)
    {
        var decision = ReleaseDecision.Decide(state is { } s ? InState(s) : null, clean, reported, releaseOn ? ReleaseMode.Auto : ReleaseMode.Off);

        Assert.Equal(request, decision.Request);
        Assert.Contains(why, decision.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void TheGateOpensOnlyOnTheDaemonsYesACleanGuardAndASettledCheckIn()
    {
        var yes = new StartGateResponse { MayStart = true, Reason = "every record is terminal" };
        var no = new StartGateResponse { MayStart = false, Reason = "3 records pending", PendingRecords = 3 };

        Assert.Equal(GateStep.Open, GateDecision.Decide(InState(HostState.Done), true, yes).Step);
        Assert.Equal(GateStep.Open, GateDecision.Decide(InState(HostState.Failed), true, yes).Step);
        Assert.Equal(GateStep.Open, GateDecision.Decide(InState(HostState.Released), true, yes).Step);
        Assert.Equal(GateStep.Open, GateDecision.Decide(null, true, yes).Step);
        Assert.Equal(GateStep.Closed, GateDecision.Decide(InState(HostState.Done), false, yes).Step);
        var pending = GateDecision.Decide(InState(HostState.Evacuating), true, no);
        Assert.Equal((GateStep.Closed, "the daemon says not yet: 3 records pending (3 record(s) pending)"), (pending.Step, pending.Reason));
        Assert.Equal(GateStep.Recheck, GateDecision.Decide(InState(HostState.Evacuating), true, yes).Step);
        Assert.Equal(GateStep.Recheck, GateDecision.Decide(InState(HostState.Held), true, yes).Step);
    }

    [Theory]
    [InlineData(10, 0, 10)]
    [InlineData(10, 30, 30)]
    [InlineData(10, 1, 1)]
    public void TheDaemonsNextCheckInWinsWhenItGivesOne(int configured, uint next, int expected) =>
        Assert.Equal(TimeSpan.FromSeconds(expected), CheckInSchedule.Next(TimeSpan.FromSeconds(configured), next));

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("10", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("500ms", 500)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData(" 2 s ", 2_000)]
    [InlineData("0", 0)]
    public void DurationsParse(string text, int milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-1s")]
    [InlineData("10d")]
    [InlineData("1e400")]
    public void BadDurationsDoNotParse(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData(10_000, "10s")]
    [InlineData(1_500, "1.5s")]
    [InlineData(300_000, "5m")]
    [InlineData(90_000, "90s")]
    [InlineData(250, "250ms")]
    public void DurationsFormat(int milliseconds, string text) => Assert.Equal(text, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
