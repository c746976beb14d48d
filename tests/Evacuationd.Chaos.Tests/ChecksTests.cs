using System.Text;
using System.Text.Json;
using Evacuationd.Chaos;
using Evacuationd.Contracts.V1;
using Evacuationd.Core.Records;
using Evacuationd.Simulator.Model;
using HostState = Evacuationd.Core.Records.HostState;
using RecordState = Evacuationd.Core.Records.RecordState;
using Transition = Evacuationd.Core.Records.Transition;

namespace Evacuationd.Chaos.Tests;

/// <summary>
/// The invariant checks on a small history written by hand: one fencing, one instance, two
/// daemons, as the daemons write it to etcd. Untouched, every check passes; each test breaks
/// one thing the way a faulty daemon or Nova would, and the check that guards it must fail.
/// </summary>
public sealed class ChecksTests
{
    private const long Lease1 = 0x10;
    private const long Lease2 = 0x20;
    private const string Host = "compute-01";
    private const string Id = "compute-01:1:u1";

    [Fact]
    public void AConsistentRunPassesEveryInvariant()
    {
        var results = new Story().Results();

        Assert.All(results.Where(r => r.Name.StartsWith('S')), r => Assert.True(r.Passed, $"{r.Name}: {string.Join("; ", r.Problems)}"));
        Assert.Equal(9, results.Count(r => r.Name.StartsWith('S')));
    }

    [Fact]
    public void AWriteUnderALeaseItsDaemonNoLongerHoldsBreaksS3()
    {
        var story = new Story();
        story.Txns.Insert(Story.Done, [Story.Put(Keys.Daemons + "d2", Story.Daemon("d2"), 0x21)]); // d2 joined again under a new lease

        var s3 = story.Result("S3 every record write");

        Assert.False(s3.Passed);
        Assert.Contains(s3.Problems, p => p.Contains("registered under lease 21", StringComparison.Ordinal));
    }

    [Fact]
    public void AnInstanceWriteWithNoOwnerBreaksS3()
    {
        var story = new Story();
        story.Txns[Story.Claim] = [Story.Put(Keys.Instances + Id, Story.Json(Story.Claimed))]; // no owner key in the transaction

        var s3 = story.Result("S3 every record write");

        Assert.False(s3.Passed);
        Assert.Contains(s3.Problems, p => p.Contains("written with no owner", StringComparison.Ordinal));
    }

    [Fact]
    public void AHistoryEntryOfAnotherDaemonThanTheOwnerBreaksS3()
    {
        var story = new Story();
        var byD1 = Story.Claimed.MoveTo(RecordState.Done, "done", Story.T0.AddSeconds(5), "d1");
        story.Txns[Story.Done] = [Story.Put(Keys.Instances + Id, Story.Json(byD1)), Story.Delete(Keys.InstanceOwners + Id)];

        var s3 = story.Result("S3 every record write");

        Assert.False(s3.Passed);
        Assert.Contains(s3.Problems, p => p.Contains("got a history entry by d1", StringComparison.Ordinal));
    }

    [Fact]
    public void AClaimOfARecordSomeoneOwnsBreaksS3()
    {
        var story = new Story();
        story.Txns.Insert(Story.Done, [Story.Put(Keys.InstanceOwners + Id, Encoding.UTF8.GetBytes("d1"), Lease1)]);

        var s3 = story.Result("S3 every record write");

        Assert.False(s3.Passed);
        Assert.Contains(s3.Problems, p => p.Contains("taken by d1", StringComparison.Ordinal));
    }

    [Fact]
    public void AWriteUnderALeaseAfterItEndedBreaksS3AndATakeoverIsTimed()
    {
        var story = new Story();
        var pause = story.PauseOfD2();
        // d2's lease ends (its daemon key and owner key go together), then its stale write lands.
        story.Txns.Insert(Story.Done, [Story.Delete(Keys.Daemons + "d2"), Story.Delete(Keys.InstanceOwners + Id)]);
        story.Txns[Story.Done + 1] = [Story.Put(Keys.Instances + Id, Story.Json(Story.DoneRecord))];

        var broken = story.Result("S3 no write under a lease");

        Assert.False(broken.Passed);
        Assert.Contains(broken.Problems, p => p.Contains("1 writes under lease 20", StringComparison.Ordinal));

        // The same loss followed by d1's claim: no write after the loss, and the takeover is timed.
        var good = new Story();
        pause = good.PauseOfD2();
        good.Txns.Insert(Story.Done, [Story.Delete(Keys.Daemons + "d2"), Story.Delete(Keys.InstanceOwners + Id)]);
        var adopted = (Story.Claimed with { LastOwner = "d1", LastOwnerLease = Lease1, Adoptions = 1 }).MoveTo(RecordState.Done, "done", Story.T0.AddSeconds(9), "d1");
        good.Txns[Story.Done + 1] = [Story.Put(Keys.InstanceOwners + Id, Encoding.UTF8.GetBytes("d1"), Lease1), Story.Put(Keys.Instances + Id, Story.Json(adopted))];
        good.Txns.Insert(Story.Done + 2, [Story.Delete(Keys.InstanceOwners + Id)]);

        Assert.True(good.Result("S3 no write under a lease").Passed);
        var loss = Assert.Single(new Checks(good.Facts()).LeaseLosses);
        Assert.Equal(Story.Revision(Story.Done), loss.LostAtRevision);
        Assert.Equal(Story.Seen(Story.Done + 1) - pause.Start, loss.Takeover);
    }

    [Fact]
    public void AFenceCommitPastTheThresholdThatWasNotHeldBreaksS6()
    {
        var story = new Story();
        var crowded = new ControlState { Recent = [.. Enumerable.Range(2, 4).Select(n => new RecentFencing($"compute-0{n}", 1, Story.T0)), new RecentFencing(Host, 1, Story.T0)] };
        story.Txns[Story.Fence] = [Story.Put(Keys.Hosts + Host, Story.Json(Story.Fenced)), Story.Put(Keys.Control, Story.Json(crowded))];

        var s6 = story.Result("S6");

        Assert.False(s6.Passed);
        Assert.Contains(s6.Problems, p => p.Contains("committed not held with 5 fencings in the window", StringComparison.Ordinal));
    }

    [Fact]
    public void RecordsCreatedWhileTheHostWasHeldBreakS6()
    {
        var story = new Story();
        var held = Story.Fenced.MoveTo(HostState.Held, "held", Story.T0, "d1");
        story.Txns[Story.Fence] = [Story.Put(Keys.Hosts + Host, Story.Json(held)), Story.Put(Keys.Control, Story.Json(new ControlState { Held = true, Recent = [new RecentFencing(Host, 1, Story.T0)] }))];

        var s6 = story.Result("S6");

        Assert.False(s6.Passed);
        Assert.Contains(s6.Problems, p => p.Contains("created while compute-01:1 was held", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEvacuateCallForAHostNotForcedDownOrNeverFencedBreaksS1()
    {
        var story = new Story();
        story.Calls[0] = story.Calls[0] with { SourceForcedDown = false };
        story.Calls.Add(new EvacuateCallRecord(Story.T0.AddSeconds(4), "u2", "compute-09", null, 200, "req-2", true, "down", false));

        var s1 = story.Result("S1");

        Assert.False(s1.Passed);
        Assert.Contains(s1.Problems, p => p.Contains("was not forced down", StringComparison.Ordinal));
        Assert.Contains(s1.Problems, p => p.Contains("compute-09") && p.Contains("never fenced", StringComparison.Ordinal));
    }

    [Fact]
    public void ACallBeforeTheRecordExistedBreaksS1()
    {
        var story = new Story();
        story.Calls[0] = story.Calls[0] with { At = Story.T0 };

        Assert.Contains(story.Result("S1").Problems, p => p.Contains("no record of that fencing existed before the call", StringComparison.Ordinal));
    }

    [Fact]
    public void TwoAcceptedCallsForOneAttemptOrADuplicateInFlightBreakS4()
    {
        var story = new Story();
        story.Calls.Add(story.Calls[0] with { At = Story.T0.AddSeconds(4), RequestId = "req-again", Duplicate = true });
        story.Stats = story.Stats with { DuplicateEvacuations = 1 };

        Assert.Contains(story.Result("S4 at most one").Problems, p => p.Contains("2 evacuate calls accepted for 1 attempt(s)", StringComparison.Ordinal));
        Assert.False(story.Result("S4 no evacuate call while").Passed);
    }

    [Fact]
    public void AnInstanceEvacuatedTwiceFromOneFencingBreaksS4()
    {
        var story = new Story();
        story.Migrations.Add(story.Migrations[0] with { Id = 2, Uuid = "m2", DestCompute = "compute-03" });

        Assert.Contains(story.Result("S4 at most one").Problems, p => p.Contains("evacuated from compute-01 2 times", StringComparison.Ordinal));
    }

    [Fact]
    public void ARecordLeftInFlightOrAnInstanceLeftWithoutAReasonBreaksS5()
    {
        var story = new Story();
        story.Txns.RemoveRange(Story.Done, story.Txns.Count - Story.Done); // never finished
        story.Instances[0] = story.Instances[0] with { Host = Host, VmState = "error" };
        story.Drained = false;

        Assert.False(story.Result("S5 every record reached").Passed);
        Assert.Contains(story.Result("S5 every instance").Problems, p => p.Contains("still on fenced host compute-01", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAcknowledgedFenceWithoutItsHostRecordBreaksS2()
    {
        var story = new Story();
        story.Acks.Add(new FenceAck("compute-07", 1, "compute-07:1", FenceOutcome.Created, "d2", Story.T0, [], 1));

        Assert.Contains(story.Result("S2").Problems, p => p.Contains("compute-07: acknowledged", StringComparison.Ordinal));
    }

    /// <summary>The hand-written run; tests change its parts before checking.</summary>
    private sealed class Story
    {
        public const int Fence = 2;
        public const int Claim = 6;
        public const int Done = 7;

        public static readonly DateTimeOffset T0 = new(2026, 4, 1, 8, 0, 0, TimeSpan.Zero);

        public static readonly HostRecord Fenced = new()
        {
            Name = Host, FenceGeneration = 1, State = HostState.Planning, ReportedAt = T0, Reason = "fenced",
            History = [new Transition(T0, "", "planning", "fenced", "d1")],
        };

        public static readonly InstanceRecord Planned = new()
        {
            Id = Id, InstanceUuid = "u1", SourceHost = Host, FenceGeneration = 1, CreatedAt = T0.AddSeconds(1), Reason = "planned",
            History = [new Transition(T0.AddSeconds(1), "", "accepted", "planned", "d1")],
        };

        public static readonly InstanceRecord Claimed =
            (Planned with { LastOwner = "d2", LastOwnerLease = Lease2, Attempt = 1 }).MoveTo(RecordState.Evacuating, "attempt 1", T0.AddSeconds(2), "d2");

        public static readonly InstanceRecord DoneRecord = Claimed.MoveTo(RecordState.Done, "done", T0.AddSeconds(5), "d2");

        public Story()
        {
            var planned = Fenced.MoveTo(HostState.Evacuating, "planned", T0.AddSeconds(1), "d1") with { ForcedDown = true, Planned = true };
            Txns =
            [
                [Put(Keys.Daemons + "d1", Daemon("d1"), Lease1)],
                [Put(Keys.Daemons + "d2", Daemon("d2"), Lease2)],
                [Put(Keys.Hosts + Host, Json(Fenced)), Put(Keys.Control, Json(new ControlState { Recent = [new RecentFencing(Host, 1, T0)] }))],
                [Put(Keys.HostOwners + Host, Encoding.UTF8.GetBytes("d1"), Lease1)],
                [Put(Keys.Instances + Id, Json(Planned)), Put(Keys.Hosts + Host, Json(planned))],
                [Delete(Keys.HostOwners + Host)],
                [Put(Keys.InstanceOwners + Id, Encoding.UTF8.GetBytes("d2"), Lease2), Put(Keys.Instances + Id, Json(Claimed))],
                [Put(Keys.Instances + Id, Json(DoneRecord)), Delete(Keys.InstanceOwners + Id)],
                [Put(Keys.HostOwners + Host, Encoding.UTF8.GetBytes("d1"), Lease1)],
                [Put(Keys.Hosts + Host, Json(planned.MoveTo(HostState.Done, "all done", T0.AddSeconds(6), "d1"))), Delete(Keys.HostOwners + Host)],
            ];
        }

        public List<List<Mutation>> Txns { get; }

        public List<FenceAck> Acks { get; } = [new FenceAck(Host, 1, "compute-01:1", FenceOutcome.Created, "d1", T0, ["u1"], 1)];

        public List<EvacuateCallRecord> Calls { get; } = [new EvacuateCallRecord(T0.AddSeconds(3), "u1", Host, null, 200, "req-1", true, "down", false)];

        public List<MigrationSnapshot> Migrations { get; } =
            [new MigrationSnapshot(1, "m1", "done", "u1", "evacuation", Host, Host, "compute-02", "compute-02", "127.0.0.1", T0.AddSeconds(3), T0.AddSeconds(5), "admin", "admin")];

        public List<SimInstance> Instances { get; } = [new SimInstance("u1", "vm-1", "compute-02", "active", null, "ACTIVE")];

        public List<FaultEvent> Faults { get; } = [];

        public SimStats Stats { get; set; } = new(new Dictionary<string, int> { ["u1"] = 1 }, 1, 0, 0,
            new Dictionary<string, IReadOnlyDictionary<string, int>>(), new Dictionary<string, int>(), 0, [], new Dictionary<string, int>(), true, 0);

        public bool Drained { get; set; } = true;

        /// <summary>The etcd revision of transaction <paramref name="index"/> (the first write is revision 2).</summary>
        public static long Revision(int index) => index + 2;

        public static DateTimeOffset Seen(int index) => T0.AddSeconds(Revision(index));

        /// <summary>A pause of d2 (which owns the record) just after its claim.</summary>
        public FaultEvent PauseOfD2()
        {
            var e = new FaultEvent(new FaultStep(1, FaultKind.DaemonPause, TimeSpan.FromSeconds(8), 0, false, 0))
            {
                Target = "d2", LeaseAtStart = Lease2, RevisionAtStart = Revision(Claim), OwnedAtStart = [Id], Applied = true,
                Start = Seen(Claim).AddMilliseconds(500),
            };
            Faults.Add(e);
            return e;
        }

        public RunFacts Facts()
        {
            var history = Txns.Select((t, i) => new Revision(Revision(i), t, Seen(i))).ToList();
            return new RunFacts(new ChaosOptions(), new Timings(), new Plan([new FenceStep([Host], false)], 1), history, Acks, [], [], Faults,
                Stats, Calls, Migrations, Instances, Drained, TimeSpan.FromMinutes(1));
        }

        public IReadOnlyList<CheckResult> Results() => new Checks(Facts()).All();

        public CheckResult Result(string prefix) => Results().Single(r => r.Name.StartsWith(prefix, StringComparison.Ordinal));

        public static Mutation Put(string key, byte[] value, long lease = 0) => new(key, true, value, lease);

        public static Mutation Delete(string key) => new(key, false, [], 0);

        public static byte[] Json<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Keys.Json);

        public static byte[] Daemon(string id) => Json(new DaemonInfo(id, "test", "https://10.98.0.1:50051", T0));
    }
}
