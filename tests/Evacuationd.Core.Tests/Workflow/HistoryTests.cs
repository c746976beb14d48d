using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;
using Expect = Evacuationd.Core.Tests.Support.Expect;

namespace Evacuationd.Core.Tests.Workflow;

public class HistoryTests
{
    [Fact]
    public void EveryTransitionOfAWholeEvacuationAddsExactlyOneEntry()
    {
        var r0 = Accepted();
        var r1 = Expect.Start(InstanceWorkflow.Decide(r0, Untouched(), At(T0)));
        var r2 = Expect.Write(InstanceWorkflow.AfterCall(r1, EvacuateOutcome.Accepted("req-1"), At(T0.AddSeconds(1))), RecordState.Rebuilding);
        var wait = InstanceWorkflow.Decide(r2, Nova(Server(task: "rebuilding"), Migration(1, "accepted")), At(T0.AddSeconds(2)));
        var r3 = Expect.Write(InstanceWorkflow.Decide(r2, Nova(Server(host: Dest), Migration(1, "done")), At(T0.AddSeconds(4))), RecordState.Done);

        Expect.Wait(wait);
        Assert.Equal([1, 2, 3, 4], new[] { r0, r1, r2, r3 }.Select(r => r.History.Count));
        Assert.Equal(
            ["->accepted", "accepted->evacuating", "evacuating->rebuilding", "rebuilding->done"],
            r3.History.Select(t => $"{t.From}->{t.To}"));
        Assert.Equal([0, 1, 1, 1], r3.History.Select(t => t.Attempt));
        Assert.Equal([Planner, Owner, Owner, Owner], r3.History.Select(t => t.Daemon));
        Assert.Equal("req-1", r3.History[2].RequestId);
        Assert.IsType<InstanceStep.Finished>(InstanceWorkflow.Decide(r3, Untouched(), At(T0.AddSeconds(6))));
    }

    [Fact]
    public void HistoryIsBoundedAndKeepsTheCreationEntryAndTheNewest()
    {
        var r = Accepted();
        for (var i = 1; i <= 100; i++)
        {
            r = r.Note($"note {i}", T0.AddSeconds(i), Owner);
        }

        Assert.Equal(History.MaxEntries, r.History.Count);
        Assert.Equal("->accepted", $"{r.History[0].From}->{r.History[0].To}");
        Assert.Equal(Planner, r.History[0].Daemon);
        Assert.Equal(
            Enumerable.Range(100 - History.MaxEntries + 2, History.MaxEntries - 1).Select(i => $"note {i}"),
            r.History.Skip(1).Select(t => t.Reason));
        Assert.Equal("note 100", r.Reason);
    }

    [Fact]
    public void HistoryJustBelowTheBoundKeepsEverything()
    {
        var r = Accepted();
        for (var i = 1; i < History.MaxEntries; i++)
        {
            r = r.Note($"note {i}", T0.AddSeconds(i), Owner);
        }

        Assert.Equal(History.MaxEntries, r.History.Count);
        Assert.Equal("note 1", r.History[1].Reason);
    }

    [Fact]
    public void NoteKeepsStateAndStateSince()
    {
        var r = Evacuating();

        var noted = r.Note("outcome unknown", T0.AddSeconds(30), Owner, "req-9");

        Assert.Equal((RecordState.Evacuating, T0), (noted.State, noted.StateSince));
        Assert.Equal(("evacuating", "evacuating", "req-9"), (noted.History[^1].From, noted.History[^1].To, noted.History[^1].RequestId));
    }
}
