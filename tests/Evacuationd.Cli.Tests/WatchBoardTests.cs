using Evacuationd.Cli.Tests.Support;
using Evacuationd.Cli.Watch;
using Evacuationd.Contracts.V1;
using Kind = Evacuationd.Contracts.V1.RecordEvent.Types.Kind;

namespace Evacuationd.Cli.Tests;

/// <summary>The live watch's model of fencings: counts, which fencings get a bar, repeats.</summary>
public class WatchBoardTests
{
    private static RecordEvent Rec(Kind kind, string id, RecordState state)
    {
        var record = CannedData.Records().Single(r => r.Id == id);
        record.State = state;
        return new RecordEvent { Kind = kind, Record = record };
    }

    private static RecordEvent HostEvent(string name, HostState state, RecordCounts? counts = null)
    {
        var host = CannedData.Hosts().Single(h => h.Name == name);
        host.State = state;
        host.Counts = counts ?? host.Counts;
        return new RecordEvent { Kind = Kind.Host, Host = host };
    }

    private static RecordEvent End() => new() { Kind = Kind.SnapshotEnd };

    [Fact]
    public void CountsComeFromTheHostUntilARecordIsSeenThenFromTheRecords()
    {
        var board = new FencingBoard();

        board.Apply(HostEvent("compute-01", HostState.Evacuating, new RecordCounts { Total = 4, Done = 1, Failed = 1, Skipped = 1, InFlight = 1 }));
        var fromHost = Assert.Single(board.Fencings).Counts;
        board.Apply(Rec(Kind.Snapshot, CannedData.DoneId, RecordState.Done));
        board.Apply(Rec(Kind.Snapshot, CannedData.RebuildingId, RecordState.Rebuilding));
        var partly = board.Fencings[0].Counts;
        board.Apply(Rec(Kind.Snapshot, CannedData.FailedId, RecordState.Failed));
        board.Apply(Rec(Kind.Snapshot, CannedData.SkippedId, RecordState.Skipped));
        board.Apply(End());
        // The host's counts are not sent again when a record changes: the records' are newer.
        board.Apply(Rec(Kind.Updated, CannedData.RebuildingId, RecordState.Done));

        Assert.Equal(new FencingCounts(4, 0, 1, 1, 1, 1, 0), fromHost);
        Assert.Equal(3, fromHost.Ended);
        Assert.Equal(new FencingCounts(4, 0, 1, 1, 0, 0, 0), partly);
        Assert.Equal(new FencingCounts(4, 0, 0, 2, 1, 1, 0), board.Fencings[0].Counts);
        Assert.Equal(4, board.Fencings[0].Counts.Ended);
    }

    [Fact]
    public void FencingsAreKeyedByHostAndGenerationInTheOrderTheyAppear()
    {
        var board = new FencingBoard();

        board.Apply(HostEvent("compute-04", HostState.Held));
        board.Apply(Rec(Kind.Snapshot, CannedData.OlderId, RecordState.Done));
        board.Apply(Rec(Kind.Snapshot, CannedData.AcceptedId, RecordState.Accepted));
        board.Apply(Rec(Kind.Snapshot, CannedData.DoneId, RecordState.Done));

        Assert.Equal(["compute-04:2", "compute-04:1", "compute-01:1"], board.Fencings.Select(f => f.Key));
        Assert.Equal(("compute-04", 1UL), (board.Fencings[1].HostName, board.Fencings[1].Generation));
        Assert.Equal(1, board.Fencings[0].Counts.Waiting);
    }

    [Fact]
    public void OnlyFencingsThatAreNotOverOrChangeWhileWatchingAreVisible()
    {
        var board = new FencingBoard();

        board.Apply(HostEvent("compute-03", HostState.Released));
        board.Apply(HostEvent("compute-04", HostState.Done));
        board.Apply(Rec(Kind.Snapshot, CannedData.OlderId, RecordState.Done));     // compute-04:1, no host event: an older fencing
        board.Apply(Rec(Kind.Snapshot, CannedData.DoneId, RecordState.Done));      // compute-01:1, no host event
        board.Apply(Rec(Kind.Snapshot, CannedData.SkippedId, RecordState.Accepted));
        board.Apply(End());
        var before = board.Fencings.ToDictionary(f => f.Key, f => f.Visible);
        board.Apply(HostEvent("compute-03", HostState.Released)); // the same state again: not a change
        var releasedAgain = board.Fencings.Single(f => f.Key == "compute-03:1").Visible;
        board.Apply(Rec(Kind.Updated, CannedData.OlderId, RecordState.Done));

        Assert.False(before["compute-03:1"]);
        Assert.True(before["compute-04:2"]);   // done but not released: still worth a look
        Assert.False(before["compute-04:1"]);
        Assert.True(before["compute-01:1"]);   // one of its records has not ended
        Assert.False(releasedAgain);
        Assert.True(board.Fencings.Single(f => f.Key == "compute-04:1").Visible);
    }

    [Fact]
    public void ASnapshotRepeatedAfterAReconnectChangesNothing()
    {
        var board = new FencingBoard();
        RecordEvent[] snapshot =
        [
            HostEvent("compute-01", HostState.Evacuating),
            Rec(Kind.Snapshot, CannedData.DoneId, RecordState.Done),
            Rec(Kind.Snapshot, CannedData.RebuildingId, RecordState.Rebuilding),
            End(),
        ];

        var first = snapshot.Select(board.Apply).ToList();
        var counts = board.Fencings[0].Counts;
        var again = snapshot.Select(board.Apply).ToList();

        Assert.True(first[0].HostStateChanged);
        Assert.False(again[0].HostStateChanged);
        Assert.Equal(counts, board.Fencings[0].Counts);
        Assert.Single(board.Fencings);
        Assert.False(board.Fencings[0].ChangedLive);
    }

    [Fact]
    public void ARemovedRecordLeavesTheCounts()
    {
        var board = new FencingBoard();
        board.Apply(Rec(Kind.Snapshot, CannedData.DoneId, RecordState.Done));
        board.Apply(Rec(Kind.Snapshot, CannedData.RebuildingId, RecordState.Rebuilding));
        board.Apply(End());

        board.Apply(Rec(Kind.Removed, CannedData.RebuildingId, RecordState.Rebuilding));

        Assert.Equal(new FencingCounts(1, 0, 0, 1, 0, 0, 0), board.Fencings[0].Counts);
        Assert.True(board.Fencings[0].ChangedLive);
    }
}
