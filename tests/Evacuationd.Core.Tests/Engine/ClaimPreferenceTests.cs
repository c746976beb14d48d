using Evacuationd.Core.Engine;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>
/// Which daemon takes an unowned record at once (the others only after the claim grace): the
/// daemon that planned a fresh record while it lives, otherwise the one rendezvous hashing
/// prefers.
/// </summary>
public sealed class ClaimPreferenceTests
{
    private static readonly DateTimeOffset Now = StoreRecords.Epoch;
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);
    private static readonly string[] Daemons = ["d1", "d2", "d3"];

    private static StoreView ViewWith(IEnumerable<InstanceRecord> records, params string[] daemons)
    {
        var view = new StoreView();
        long rev = 1;
        foreach (var d in daemons)
        {
            view.Apply(new StoreChange(rev++, ChangeKind.DaemonPut, Daemon: StoreRecords.Daemon(d)), Now);
        }
        foreach (var r in records)
        {
            view.Apply(new StoreChange(rev, ChangeKind.InstancePut, Instance: new Versioned<InstanceRecord>(r, rev)), Now);
            rev++;
        }
        return view;
    }

    private static List<InstanceRecord> PlannedBy(string daemon, int n) => Enumerable.Range(0, n)
        .Select(i => StoreRecords.Instance("compute-01", $"r{i:00}") with
        {
            History = [new Transition(Now, "", "accepted", "planned", daemon)],
        })
        .ToList();

    private static int ReadyNow(StoreView view, string daemon) => view.Claimable(daemon, Now, Grace, _ => false).Now.Count;

    [Fact]
    public void TheDaemonThatPlannedAFreshRecordTakesItAtOnceAndTheOthersAfterTheGrace()
    {
        var view = ViewWith(PlannedBy("d2", 30), Daemons);

        var (others, next) = view.Claimable("d1", Now, Grace, _ => false);

        Assert.Equal(30, ReadyNow(view, "d2"));
        Assert.Empty(others);
        Assert.Equal(0, ReadyNow(view, "d3"));
        Assert.Equal(Now + Grace, next);
        Assert.Equal(30, view.Claimable("d1", Now + Grace, Grace, _ => false).Now.Count);
    }

    [Fact]
    public void WhenThePlannerIsGoneRendezvousHashingSpreadsItsRecords()
    {
        var view = ViewWith(PlannedBy("d9", 30), Daemons);

        var counts = Daemons.Select(d => ReadyNow(view, d)).ToList();

        Assert.Equal(30, counts.Sum()); // each record preferred by exactly one live daemon
        Assert.All(counts, c => Assert.InRange(c, 1, 29));
    }

    [Fact]
    public void ARecordOwnedBeforeOrPastItsFirstAttemptIsSpreadByRendezvousHashing()
    {
        var handedOver = PlannedBy("d2", 15).Select(r => r with { LastOwner = "d2" });
        var attempted = PlannedBy("d2", 30).Skip(15).Select(r => r with { Attempt = 1, State = RecordState.Retrying });
        var view = ViewWith(handedOver.Concat(attempted), Daemons);

        var counts = Daemons.Select(d => ReadyNow(view, d)).ToList();

        Assert.Equal(30, counts.Sum());
        Assert.InRange(counts[1], 1, 29); // d2 gets its rendezvous share, not all
    }
}
