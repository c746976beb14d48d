using Evacuationd.Core.Records;
using Evacuationd.Core.Tests.Support;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Delivery = Evacuationd.Core.Tests.Support.FakeNova.Delivery;
using Fate = Evacuationd.Core.Tests.Support.FakeNova.Fate;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>
/// Walks a record through the whole path against <see cref="FakeNova"/>, the way the runner
/// carries decisions out (persist, then call, then persist the answer), and kills the owner
/// after every possible step (each durable write and the evacuate call), once or twice, with
/// successors arriving at different moments of Nova's rebuild. At the end: the record is done
/// on the destination, Nova accepted exactly the evacuations the scenario needs, none of them
/// while another was in flight, and no decision ever started an attempt while Nova ran one (S4).
/// </summary>
public class CrashWalkTests
{
    public enum Scenario
    {
        Normal,
        FirstAnswerLost,
        FirstCallNeverArrives,
        FirstAttemptFailsInConductor,
    }

    private static readonly TimeSpan CallTimeout = S(30);

    /// <summary>How long after a death the successor decides: inside each of Nova's phases, after the TTL, after CallSettle.</summary>
    private static readonly TimeSpan[] Gaps = [S(0.5), S(1.5), S(2.5), S(3.5), S(11), S(75)];

    private sealed record Run(InstanceRecord Record, FakeNova Nova, int Events, IReadOnlyList<string> Violations, IReadOnlyList<string> Trace);

    [Theory]
    [InlineData(Scenario.Normal, 1)]
    [InlineData(Scenario.FirstAnswerLost, 1)]
    [InlineData(Scenario.FirstCallNeverArrives, 1)]
    [InlineData(Scenario.FirstAttemptFailsInConductor, 2)]
    public void OwnerDyingAfterAnyStepStillEndsDoneWithTheEvacuationsNeeded(Scenario scenario, int accepted)
    {
        var clean = Walk(scenario, new HashSet<int>(), TimeSpan.Zero);
        AssertGood(clean, accepted, "no crash");
        Assert.True(clean.Events >= 3, $"the path has only {clean.Events} steps: {string.Join(" | ", clean.Trace)}");

        var failures = new List<string>();
        var runs = 0;
        var last = clean.Events + 4;
        foreach (var gap in Gaps)
        {
            for (var i = 1; i <= last; i++)
            {
                for (var j = i; j <= last + 2; j++)
                {
                    var crashes = new HashSet<int> { i, j };
                    var run = Walk(scenario, crashes, gap);
                    runs++;
                    var problem = Check(run, accepted);
                    if (problem is not null)
                    {
                        failures.Add($"crash after steps {string.Join("+", crashes)}, successor after {gap}: {problem}\n    {string.Join("\n    ", run.Trace)}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {runs} runs went wrong; first ones:\n{string.Join("\n\n", failures.Take(3))}");
    }

    [Fact]
    public void OwnerDyingBetweenNovasAnswerAndItsRecordDoesNotEvacuateAgain()
    {
        // Step 1: "evacuating" committed; step 2: the call answered 200; the owner dies before "rebuilding" is written.
        var run = Walk(Scenario.Normal, new HashSet<int> { 2 }, S(11));

        AssertGood(run, 1, "crash after the call");
        Assert.Equal(1, run.Nova.Calls);
        Assert.Equal(1, run.Record.Attempt);
        Assert.Contains(run.Record.History, t => t.Daemon == "daemon-2");
    }

    [Fact]
    public void OwnerDyingBeforeTheCallStartsTheNextAttemptOnlyAfterCallSettle()
    {
        var run = Walk(Scenario.Normal, new HashSet<int> { 1 }, S(11));

        AssertGood(run, 1, "crash before the call");
        Assert.Equal(2, run.Record.Attempt);
        var second = run.Record.History.Single(t => t.To == "evacuating" && t.Attempt == 2);
        Assert.Equal(T0 + S(11) + S(60), second.At);
        Assert.Equal("daemon-2", second.Daemon);
    }

    /// <summary>The walk itself can fail: a successor that re-issues on takeover (as Masakari-like tools do) is caught.</summary>
    [Fact]
    public void WalkCatchesASuccessorThatReissuesOnTakeover()
    {
        var restartedBy = new HashSet<string>();
        InstanceStep Naive(InstanceRecord r, Evacuationd.Core.Workflow.InstanceObservation nova, DecisionContext ctx) =>
            r.State is RecordState.Evacuating or RecordState.Rebuilding && ctx.Daemon != "daemon-1" && restartedBy.Add(ctx.Daemon)
                ? new InstanceStep.StartAttempt((r with { Attempt = r.Attempt + 1, AttemptStartedAt = ctx.Now, BaselineMigrationId = nova.NewestMigrationId })
                    .MoveTo(RecordState.Evacuating, "resumed from scratch", ctx.Now, ctx.Daemon))
                : InstanceWorkflow.Decide(r, nova, ctx);

        var afterCall = Walk(Scenario.Normal, new HashSet<int> { 2 }, S(1.5), Naive);
        restartedBy.Clear();
        var whileRebuilding = Walk(Scenario.Normal, new HashSet<int> { 3 }, S(0.5), Naive);

        Assert.NotNull(Check(afterCall, 1));
        Assert.NotNull(Check(whileRebuilding, 1));
        Assert.True(whileRebuilding.Nova.AcceptedWhileInFlight > 0 || whileRebuilding.Violations.Count > 0);
    }

    private static void AssertGood(Run run, int accepted, string what)
    {
        var problem = Check(run, accepted);
        Assert.True(problem is null, $"{what}: {problem}\n    {string.Join("\n    ", run.Trace)}");
    }

    private static string? Check(Run run, int accepted)
    {
        if (run.Violations.Count > 0)
        {
            return string.Join("; ", run.Violations);
        }
        if (run.Nova.AcceptedWhileInFlight > 0)
        {
            return $"Nova accepted {run.Nova.AcceptedWhileInFlight} evacuate call(s) while another evacuation was in flight";
        }
        if (run.Nova.Accepted != accepted)
        {
            return $"Nova accepted {run.Nova.Accepted} evacuate calls, expected {accepted}";
        }
        if (run.Record.State != RecordState.Done || run.Record.DestinationHost != Dest)
        {
            return $"record ended {run.Record.State} on {run.Record.DestinationHost ?? "-"}: {run.Record.Reason}";
        }
        return null;
    }

    private static FakeNova NovaFor(Scenario scenario) => scenario switch
    {
        Scenario.Normal => new(_ => Delivery.Answered, _ => Fate.Rebuilt),
        Scenario.FirstAnswerLost => new(n => n == 1 ? Delivery.AnswerLost : Delivery.Answered, _ => Fate.Rebuilt),
        Scenario.FirstCallNeverArrives => new(n => n == 1 ? Delivery.NeverArrives : Delivery.Answered, _ => Fate.Rebuilt),
        Scenario.FirstAttemptFailsInConductor => new(_ => Delivery.Answered, n => n == 1 ? Fate.FailsInConductor : Fate.Rebuilt),
        _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
    };

    /// <summary>
    /// Runs the record to its end. A "step" is a durable write or the evacuate call; after the
    /// steps in <paramref name="crashAfter"/> the owner dies: whatever it had not persisted is
    /// lost and a new daemon decides <paramref name="gap"/> later, owning the record from then.
    /// </summary>
    private static Run Walk(Scenario scenario, IReadOnlySet<int> crashAfter, TimeSpan gap,
        Func<InstanceRecord, Evacuationd.Core.Workflow.InstanceObservation, DecisionContext, InstanceStep>? decide = null)
    {
        decide ??= InstanceWorkflow.Decide;
        var nova = NovaFor(scenario);
        var options = Options(maxAttempts: 5);
        var now = T0;
        var owner = 1;
        var ownedSince = now;
        var r = Accepted(T0);
        var steps = 0;
        var violations = new List<string>();
        var trace = new List<string>();

        DecisionContext Ctx() => new(now, $"daemon-{owner}", ownedSince, options);

        bool Died()
        {
            steps++;
            if (!crashAfter.Contains(steps))
            {
                return false;
            }
            now += gap;
            owner++;
            ownedSince = now;
            trace.Add($"{now - T0}: daemon-{owner} takes over ({r.State.Name()})");
            return true;
        }

        for (var i = 0; i < 10_000 && !r.IsTerminal && now < T0 + TimeSpan.FromHours(1); i++)
        {
            switch (decide(r, nova.Observe(now), Ctx()))
            {
                case InstanceStep.Wait w:
                    if (w.Until <= now)
                    {
                        violations.Add($"{now - T0}: wait does not move time forward ({w.Why})");
                        return new Run(r, nova, steps, violations, trace);
                    }
                    now = w.Until;
                    break;
                case InstanceStep.Write w:
                    r = w.Next;
                    trace.Add($"{now - T0}: [{steps + 1}] {r.State.Name()}: {r.Reason}");
                    Died();
                    break;
                case InstanceStep.StartAttempt s:
                    if (nova.InFlight(now))
                    {
                        violations.Add($"{now - T0}: attempt {s.Next.Attempt} started while Nova still runs an evacuation");
                    }
                    r = s.Next;
                    trace.Add($"{now - T0}: [{steps + 1}] {r.State.Name()}: {r.Reason}");
                    if (Died())
                    {
                        break;
                    }
                    var outcome = nova.Evacuate(now);
                    if (outcome.Kind == Evacuationd.Core.Compute.EvacuateOutcomeKind.Unknown)
                    {
                        now += CallTimeout;
                    }
                    trace.Add($"{now - T0}: [{steps + 1}] call {nova.Calls}: {outcome.Kind}");
                    if (Died())
                    {
                        break;
                    }
                    if (InstanceWorkflow.AfterCall(r, outcome, Ctx()) is InstanceStep.Write after)
                    {
                        r = after.Next;
                        trace.Add($"{now - T0}: [{steps + 1}] {r.State.Name()}: {r.Reason}");
                        Died();
                    }
                    break;
                case InstanceStep.Finished:
                    violations.Add($"finished while {r.State}");
                    return new Run(r, nova, steps, violations, trace);
            }
        }
        return new Run(r, nova, steps, violations, trace);
    }
}
