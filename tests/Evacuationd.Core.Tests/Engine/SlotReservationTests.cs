using Evacuationd.Core.Engine;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>
/// In-flight slots as one daemon hands them to its runners: a slot reserved for one record is
/// not handed to another before etcd shows it (two runners of a daemon never race each other),
/// and a slot just lost to another daemon is skipped on the retry.
/// </summary>
public sealed class SlotReservationTests
{
    private static readonly DateTimeOffset Now = StoreRecords.Epoch;

    [Fact]
    public void ARecordGetsItsReservedSlotAgainAndNoOtherRecordGetsIt()
    {
        var view = new StoreView();

        var first = view.ReserveSlot("r1", 1);
        var again = view.ReserveSlot("r1", 1);
        var other = view.ReserveSlot("r2", 1);

        Assert.Equal(0, first);
        Assert.Equal(0, again);
        Assert.Null(other);
    }

    [Fact]
    public void RecordsReservingTogetherGetDistinctSlots()
    {
        var view = new StoreView();

        var slots = Enumerable.Range(0, 8).Select(i => view.ReserveSlot($"host-a:1:{i}", 8)).ToList();

        Assert.All(slots, s => Assert.NotNull(s));
        Assert.Equal(8, slots.Distinct().Count());
        Assert.Null(view.ReserveSlot("host-a:1:late", 8));
    }

    [Fact]
    public void AReservationEndsWhenEtcdShowsTheSlotOrTheRecordReleasesIt()
    {
        var view = new StoreView();
        var slot = view.ReserveSlot("r1", 2)!.Value;
        var second = view.ReserveSlot("r2", 2)!.Value;

        view.ReleaseSlots("r2");
        var afterRelease = view.ReserveSlot("r3", 2);
        view.Apply(new StoreChange(5, ChangeKind.SlotPut, Owner: "r1", Slot: slot), Now);
        view.Apply(new StoreChange(6, ChangeKind.SlotDeleted, Slot: slot), Now);
        var afterWrite = view.ReserveSlot("r4", 2);

        Assert.NotEqual(slot, second);
        Assert.Equal(second, afterRelease); // r2's slot went back
        Assert.Equal(slot, afterWrite);     // written by r1, then freed in etcd: no reservation left behind
    }

    [Fact]
    public void ASlotLostToAnotherDaemonIsSkipped()
    {
        var view = new StoreView();
        var first = view.ReserveSlot("r1", 3)!.Value;
        view.ReleaseSlots("r1");

        var retry = view.ReserveSlot("r1", 3, new HashSet<int> { first });

        Assert.NotNull(retry);
        Assert.NotEqual(first, retry);
    }

    [Fact]
    public void ARecordsWaitingReservationIsTheSlotItGetsNext()
    {
        var view = new StoreView();
        for (var n = 0; n < 4; n++)
        {
            view.Apply(new StoreChange(n + 1, ChangeKind.SlotPut, Owner: $"other-{n}", Slot: n), Now);
        }
        view.Apply(new StoreChange(10, ChangeKind.SlotDeleted, Slot: 2), Now);
        var waited = view.ReserveSlot("r1", 4);
        view.Apply(new StoreChange(11, ChangeKind.SlotDeleted, Slot: 0), Now);
        view.Apply(new StoreChange(12, ChangeKind.SlotDeleted, Slot: 1), Now);

        Assert.Equal(2, waited);
        Assert.Equal(2, view.ReserveSlot("r1", 4)); // its reservation, not another free slot
        Assert.NotEqual(2, view.ReserveSlot("r2", 4));
    }

    [Fact]
    public void WaitersWakeWhenASlotIsFreedARequestArrivesOrAReservationEndsButNotWhenASlotIsTaken()
    {
        var view = new StoreView();
        var beforeTake = view.WhenSlotFreedOrAskedAsync();
        view.Apply(new StoreChange(1, ChangeKind.SlotPut, Owner: "r9", Slot: 0), Now);
        var wokenByTake = beforeTake.IsCompleted;
        view.Apply(new StoreChange(2, ChangeKind.SlotDeleted, Slot: 0), Now);
        var wokenByFree = beforeTake.IsCompleted;
        view.ReserveSlot("r1", 2);
        var beforeRelease = view.WhenSlotFreedOrAskedAsync();
        view.ReleaseSlots("r1");
        var beforeRequest = view.WhenSlotFreedOrAskedAsync();
        view.Apply(new StoreChange(3, ChangeKind.RequestPut, Request: new Versioned<OperatorRequest>(
            new OperatorRequest("r1", OperatorAction.Cancel, "test", "op", Now), 3)), Now);

        Assert.False(wokenByTake);
        Assert.True(wokenByFree);
        Assert.True(beforeRelease.IsCompleted);
        Assert.True(beforeRequest.IsCompleted);
        Assert.False(view.WhenSlotFreedOrAskedAsync().IsCompleted);
    }
}
