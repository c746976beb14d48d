using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>
/// S4, the heart: the owner died right after one of its durable writes; a successor claims the
/// record later (OwnedSince = Takeover) and decides from what Nova shows then. Nova is frozen in
/// that picture, and the successor's decisions are followed over time (writes applied, waits
/// slept) until it starts an attempt or the record ends.
/// If Nova may still run an attempt (a migration newer than the baseline that has not ended,
/// or a task_state), the successor must never start one, and must still end the record
/// (S5: nothing waits forever). If Nova shows no trace, it starts the next attempt exactly when
/// the rules say, with the right number and baseline.
/// </summary>
public class ResumeAtCheckpointTests
{
    private static readonly DateTimeOffset Takeover = T0.AddSeconds(20);

    /// <param name="StartsAfter">Null: no attempt may ever start. Otherwise: when (after Takeover) the next one starts.</param>
    public sealed record Checkpoint(InstanceRecord Record, InstanceObservation Nova, TimeSpan? StartsAfter = null, int Attempt = 0, long Baseline = 0);

    private static readonly Dictionary<string, Checkpoint> Cases = new()
    {
        ["accepted; nothing asked of Nova"] =
            new(Accepted(), Untouched(Migration(5, "completed")), TimeSpan.Zero, Attempt: 1, Baseline: 5),
        ["evacuating; died before the call"] =
            new(Evacuating(baseline: 5), Untouched(Migration(5, "completed")), S(60), Attempt: 2, Baseline: 5),
        ["evacuating; the call's outcome was unknown and noted"] =
            new(Evacuating(baseline: 5, outcomeUnknownSince: T0.AddSeconds(10)), Untouched(Migration(5, "completed")), S(60), Attempt: 2, Baseline: 5),
        ["evacuating; last attempt, died before the call"] =
            new(Evacuating(attempt: 3, baseline: 5), Untouched(Migration(5, "completed"))),
        ["evacuating; Nova accepted, migration accepted"] =
            new(Evacuating(baseline: 5), Nova(Server(task: "rebuilding"), Migration(5, "completed"), Migration(6, "accepted"))),
        ["evacuating; Nova accepted, only its task_state shows yet"] =
            new(Evacuating(baseline: 5), Nova(Server(task: "rebuilding"), Migration(5, "completed"))),
        ["evacuating; ACTIVE before moved, migration pre-migrating"] =
            new(Evacuating(baseline: 5), Nova(Server(task: null), Migration(6, "pre-migrating"))),
        ["evacuating; ACTIVE before moved, migration already done"] =
            new(Evacuating(baseline: 5), Nova(Server(task: null), Migration(6, "done"))),
        ["evacuating; the outcome was unknown, but the call arrived"] =
            new(Evacuating(baseline: 5, outcomeUnknownSince: T0.AddSeconds(10)), Nova(Server(task: "rebuild_spawning"), Migration(6, "pre-migrating"))),
        ["rebuilding; migration pre-migrating"] =
            new(Rebuilding(baseline: 5), Nova(Server(task: "rebuild_spawning"), Migration(6, "pre-migrating"))),
        ["rebuilding; ACTIVE before moved"] =
            new(Rebuilding(baseline: 5), Nova(Server(task: null), Migration(6, "done"))),
        ["rebuilding; task_state but no migration yet"] =
            new(Rebuilding(baseline: 5), Nova(Server(task: "rebuilding"), Migration(5, "completed"))),
        ["retrying; the previous attempt ended in Nova"] =
            new(Retrying(1, 5, T0.AddSeconds(5), T0.AddSeconds(15)), Untouched(Migration(5, "completed"), Migration(6, "error")), TimeSpan.Zero, Attempt: 2, Baseline: 6),
        ["retrying; backoff not over at takeover"] =
            new(Retrying(1, 5, T0.AddSeconds(5), T0.AddSeconds(50)), Untouched(Migration(6, "error")), S(30), Attempt: 2, Baseline: 6),
        ["retrying; Nova busy with a task_state"] =
            new(Retrying(1, 5, T0.AddSeconds(5), T0.AddSeconds(15)), Nova(Server(task: "rebuilding"), Migration(6, "error"))),
        ["retrying; a migration newer than the baseline still runs"] =
            new(Retrying(1, 5, T0.AddSeconds(5), T0.AddSeconds(15)), Nova(Server(task: null), Migration(6, "error"), Migration(7, "pre-migrating"))),
        ["accepted; an evacuation is already running in Nova"] =
            new(Accepted(), Nova(Server(task: null), Migration(3, "pre-migrating"))),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void SuccessorNeverStartsAnAttemptNovaMayStillRunAndStartsWhenItCannot(string name)
    {
        var c = Cases[name];
        var now = Takeover;
        var r = c.Record;
        InstanceRecord? started = null;
        var startedAt = DateTimeOffset.MinValue;
        var path = new List<string>();
        for (var i = 0; i < 5000 && started is null && !r.IsTerminal && now < Takeover + TimeSpan.FromHours(2); i++)
        {
            var step = InstanceWorkflow.Decide(r, c.Nova, new DecisionContext(now, Successor, Takeover, Options()));
            switch (step)
            {
                case InstanceStep.Wait w:
                    Assert.True(w.Until > now, $"{name}: a wait must move time forward ({w})");
                    now = w.Until;
                    break;
                case InstanceStep.Write w:
                    path.Add($"{now - Takeover}: {w.Next.State.Name()}");
                    r = w.Next;
                    break;
                case InstanceStep.StartAttempt s:
                    started = s.Next;
                    startedAt = now;
                    break;
                case InstanceStep.Finished:
                    Assert.Fail($"{name}: finished while the record is {r.State}");
                    break;
            }
        }

        if (c.StartsAfter is not { } after)
        {
            Assert.True(started is null,
                $"{name}: attempt {started?.Attempt} started at takeover + {startedAt - Takeover} although Nova shows it may still run one ({string.Join(", ", path)})");
            Assert.True(r.IsTerminal, $"{name}: still {r.State} two hours after the takeover (S5)");
            Assert.NotEqual(RecordState.Done, r.State);
            Assert.False(string.IsNullOrWhiteSpace(r.Reason));
        }
        else
        {
            Assert.True(started is not null, $"{name}: no attempt started; ended {r.State}: {r.Reason}");
            Assert.Equal(Takeover + after, startedAt);
            Assert.Equal(c.Attempt, started.Attempt);
            Assert.Equal(c.Baseline, started.BaselineMigrationId);
            Assert.Equal(startedAt, started.AttemptStartedAt);
            Assert.Equal(Successor, started.History[^1].Daemon);
        }
    }

    [Fact]
    public void EveryCheckpointOfTheRunnerIsCovered()
    {
        var states = Cases.Values.Select(c => c.Record.State).ToHashSet();

        Assert.Subset(states, new HashSet<RecordState> { RecordState.Accepted, RecordState.Evacuating, RecordState.Rebuilding, RecordState.Retrying });
        Assert.Contains(Cases.Values, c => c.StartsAfter is null);
        Assert.Contains(Cases.Values, c => c.StartsAfter is not null);
    }
}
