using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Testing.Store;

/// <summary>
/// The contract every <see cref="IEvacuationStore"/> MUST meet (the rules on the interface),
/// store-agnostic: it only uses the interface, plus three hooks a subclass provides.
/// A store runs it with a small subclass:
/// <code>
/// public sealed class InMemoryStoreContractTests : EvacuationStoreContract
/// {
///     protected override Task&lt;IEvacuationStore&gt; CreateStoreAsync(FakeTimeProvider time) => ...;
///     protected override Task CompactAsync() => ...;
/// }
/// </code>
/// A store on real time (etcd) ignores the fake clock and overrides <see cref="LetTimePassAsync"/>
/// (wait for real), <see cref="ExpireLeaseAsync"/> (wait until the store dropped the lease),
/// <see cref="Now"/> and, if its minimum TTL demands, <see cref="LeaseTtl"/>.
/// xunit makes a new instance, hence a new store, for every test.
/// </summary>
public abstract class EvacuationStoreContract : IAsyncLifetime
{
    protected static readonly CancellationToken None = CancellationToken.None;

    /// <summary>The clock handed to <see cref="CreateStoreAsync"/>.</summary>
    protected FakeTimeProvider Time { get; } = new(StoreRecords.Epoch);

    /// <summary>The store under test, fresh for each test.</summary>
    protected IEvacuationStore Store { get; private set; } = null!;

    /// <summary>TTL of the leases the suite grants.</summary>
    protected virtual TimeSpan LeaseTtl => TimeSpan.FromSeconds(5);

    /// <summary>The store's notion of now (the fake clock by default).</summary>
    protected virtual DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>A new, empty store whose leases expire on <paramref name="time"/> (or on real time).</summary>
    protected abstract Task<IEvacuationStore> CreateStoreAsync(FakeTimeProvider time);

    /// <summary>Drops the store's watch history up to its current revision.</summary>
    protected abstract Task CompactAsync();

    /// <summary>Lets <paramref name="duration"/> pass for the store's leases (advances the fake clock by default).</summary>
    protected virtual Task LetTimePassAsync(TimeSpan duration)
    {
        Time.Advance(duration);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Lets <paramref name="lease"/> expire (no keepalive is sent meanwhile). Default: let TTL + 1 s pass.
    /// A real-time store may wait longer, until the store has dropped the lease.
    /// </summary>
    protected virtual Task ExpireLeaseAsync(DaemonLease lease) => LetTimePassAsync(lease.Ttl + TimeSpan.FromSeconds(1));

    protected virtual async Task DisposeStoreAsync(IEvacuationStore store)
    {
        switch (store)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }

    public async Task InitializeAsync() => Store = await CreateStoreAsync(Time).ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (Store is not null)
        {
            await DisposeStoreAsync(Store).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- leases and daemons

    [Fact]
    public async Task GrantedLeaseListsTheDaemonUnderThatLease()
    {
        var before = Now;
        var lease = await GrantAsync("daemon-a");
        var other = await GrantAsync("daemon-b");

        Assert.Equal("daemon-a", lease.DaemonId);
        Assert.Equal(LeaseTtl, lease.Ttl);
        Assert.NotEqual(lease.LeaseId, other.LeaseId);
        var daemons = await Store.ListDaemonsAsync(None);
        Assert.Equal(["daemon-a", "daemon-b"], daemons.Select(d => d.Id).Order(StringComparer.Ordinal));
        var a = daemons.Single(d => d.Id == "daemon-a");
        var expected = StoreRecords.Daemon("daemon-a");
        Assert.Equal(lease.LeaseId, a.LeaseId);
        Assert.Equal(expected.Version, a.Version);
        Assert.Equal(expected.Address, a.Address);
        Assert.Equal(expected.StartedAt, a.StartedAt);
        Assert.NotNull(a.LeaseExpiresAt);
        Assert.InRange(a.LeaseExpiresAt.Value, before, Now + LeaseTtl + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task KeepAliveExtendsTheLeaseBeyondItsFirstTtl()
    {
        var lease = await GrantAsync("daemon-a");
        await LetTimePassAsync(LeaseTtl * 0.6);
        var renewed = await Store.KeepAliveAsync(lease, None);
        Assert.True(renewed.Alive);
        Assert.InRange(renewed.Ttl, TimeSpan.FromMilliseconds(1), LeaseTtl);

        await LetTimePassAsync(LeaseTtl * 0.6); // 1.2 TTL after the grant, 0.6 after the renewal
        Assert.Contains(await Store.ListDaemonsAsync(None), d => d.Id == "daemon-a");
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var claim = await Store.TryClaimInstanceAsync(lease, records[0].Value.Id, records[0].Revision, null, None);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);

        await ExpireLeaseAsync(lease);
        Assert.DoesNotContain(await Store.ListDaemonsAsync(None), d => d.Id == "daemon-a");
        var late = await Store.KeepAliveAsync(lease, None);
        Assert.False(late.Alive);
    }

    [Fact]
    public async Task LeaseExpiryDeletesTheDaemonAndEveryOwnerKeyOfTheLeaseAtOnce()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var a = await GrantAsync("daemon-a");
        var hostClaim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        var c1 = await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, null, None);
        var c2 = await Store.TryClaimInstanceAsync(a, records[1].Value.Id, records[1].Revision, null, None);
        Assert.True(hostClaim.Claimed && c1.Claimed && c2.Claimed);
        var from = (await Store.ReadSnapshotAsync(None)).Revision;
        await using var watch = WatchRecorder.Start(Store, from);

        await ExpireLeaseAsync(a);

        Assert.DoesNotContain(await Store.ListDaemonsAsync(None), d => d.Id == "daemon-a");
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(records[0].Value.Id), None));
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(records[1].Value.Id), None));
        var expectedKeys = new[] { RecordKey.Host("compute-01"), RecordKey.Instance(records[0].Value.Id), RecordKey.Instance(records[1].Value.Id) };
        var events = await watch.TakeUntilAsync(seen =>
            seen.Any(e => e.Kind == ChangeKind.DaemonDeleted && e.Daemon?.Id == "daemon-a") &&
            expectedKeys.All(k => seen.Any(e => e.Kind == ChangeKind.OwnerDeleted && e.Key == k)));
        var relevant = events.Where(e => e.Kind == ChangeKind.DaemonDeleted && e.Daemon?.Id == "daemon-a" ||
                                         e.Kind == ChangeKind.OwnerDeleted && expectedKeys.Contains(e.Key!.Value)).ToList();
        Assert.Single(relevant.Select(e => e.Revision).Distinct());
        Assert.DoesNotContain(events, e => e.Kind is ChangeKind.InstancePut or ChangeKind.HostPut);

        // The records themselves are untouched: only ownership went with the lease.
        var after = await Store.GetInstanceAsync(records[0].Value.Id, None);
        Assert.Equal(c1.Record!.Revision, after!.Revision);
        Assert.Equal(RecordState.Accepted, after.Value.State);
    }

    [Fact]
    public async Task RevokeDeletesEverythingBoundToTheLeaseAtOnceAndSparesOthers()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        Assert.True((await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None)).Claimed);
        Assert.True((await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, null, None)).Claimed);
        Assert.True((await Store.TryClaimInstanceAsync(b, records[1].Value.Id, records[1].Revision, null, None)).Claimed);
        var from = (await Store.ReadSnapshotAsync(None)).Revision;
        await using var watch = WatchRecorder.Start(Store, from);

        await Store.RevokeLeaseAsync(a, None);

        Assert.Equal(["daemon-b"], (await Store.ListDaemonsAsync(None)).Select(d => d.Id));
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(records[0].Value.Id), None));
        Assert.Equal("daemon-b", await Store.GetOwnerAsync(RecordKey.Instance(records[1].Value.Id), None));
        var events = await watch.TakeUntilAsync(seen =>
            seen.Count(e => e.Kind == ChangeKind.OwnerDeleted) >= 2 && seen.Any(e => e.Kind == ChangeKind.DaemonDeleted));
        Assert.Equal(
            new[] { RecordKey.Host("compute-01"), RecordKey.Instance(records[0].Value.Id) }.Select(k => k.ToString()).Order(StringComparer.Ordinal),
            events.Where(e => e.Kind == ChangeKind.OwnerDeleted).Select(e => e.Key!.Value.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal("daemon-a", events.Single(e => e.Kind == ChangeKind.DaemonDeleted).Daemon!.Id);
        Assert.Single(events.Select(e => e.Revision).Distinct());
        Assert.False((await Store.KeepAliveAsync(a, None)).Alive);

        // Revoking a lease that is already gone is not an error.
        await Store.RevokeLeaseAsync(a, None);
    }

    // ---------------------------------------------------------------- claims

    [Fact]
    public async Task AmongConcurrentClaimantsOfAnInstanceExactlyOneWins()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var leases = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => GrantAsync($"daemon-{i:00}")));

        var results = await Task.WhenAll(leases.Select(l => Task.Run(() =>
            Store.TryClaimInstanceAsync(l, r.Value.Id, r.Revision, r.Value with { Reason = $"claimed by {l.DaemonId}" }, None))));

        var winner = Assert.Single(results, c => c.Claimed).Ownership!.DaemonId;
        Assert.All(results.Where(c => !c.Claimed), c => Assert.Contains(c.Status, new[] { ClaimStatus.OwnedByOther, ClaimStatus.Conflict }));
        Assert.All(results.Where(c => c.Status == ClaimStatus.OwnedByOther), c => Assert.Equal(winner, c.CurrentOwner));
        Assert.Equal(winner, await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        Assert.Equal($"claimed by {winner}", (await Store.GetInstanceAsync(r.Value.Id, None))!.Value.Reason);
    }

    [Fact]
    public async Task AmongConcurrentClaimantsOfAHostExactlyOneWins()
    {
        var (host, _) = await SeedAsync("compute-01");
        var leases = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => GrantAsync($"daemon-{i:00}")));

        var results = await Task.WhenAll(leases.Select(l => Task.Run(() =>
            Store.TryClaimHostAsync(l, "compute-01", host.Revision, host.Value with { Reason = $"claimed by {l.DaemonId}" }, None))));

        var winner = Assert.Single(results, c => c.Claimed).Ownership!.DaemonId;
        Assert.All(results.Where(c => !c.Claimed), c => Assert.Contains(c.Status, new[] { ClaimStatus.OwnedByOther, ClaimStatus.Conflict }));
        Assert.Equal(winner, await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
        Assert.Equal($"claimed by {winner}", (await Store.GetHostAsync("compute-01", None))!.Value.Reason);
    }

    [Fact]
    public async Task ClaimAtAnOutdatedRevisionIsAConflictAndChangesNothing()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        var first = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, r.Value with { Reason = "by a" }, None);
        Assert.True(first.Claimed);
        await Store.ReleaseAsync(first.Ownership!, None);

        var late = await Store.TryClaimInstanceAsync(b, r.Value.Id, r.Revision, r.Value with { Reason = "by b" }, None);

        Assert.Equal(ClaimStatus.Conflict, late.Status);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        var now = await Store.GetInstanceAsync(r.Value.Id, None);
        Assert.Equal("by a", now!.Value.Reason);
        Assert.Equal(first.Record!.Revision, now.Revision);
    }

    [Fact]
    public async Task ClaimOfAnOwnedRecordIsOwnedByOtherAndNamesTheOwner()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);
        Assert.True(mine.Claimed);
        Assert.True((await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None)).Claimed);

        var theirs = await Store.TryClaimInstanceAsync(b, r.Value.Id, mine.Record!.Revision, r.Value with { Reason = "by b" }, None);
        var theirHost = await Store.TryClaimHostAsync(b, "compute-01", host.Revision, null, None);

        Assert.Equal(ClaimStatus.OwnedByOther, theirs.Status);
        Assert.Equal("daemon-a", theirs.CurrentOwner);
        Assert.Equal(ClaimStatus.OwnedByOther, theirHost.Status);
        Assert.Equal("daemon-a", theirHost.CurrentOwner);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        Assert.Equal("planned", (await Store.GetInstanceAsync(r.Value.Id, None))!.Value.Reason);
    }

    [Fact]
    public async Task AClaimUnderTheLeaseThatAlreadyOwnsTheRecordSucceeds()
    {
        // "Already mine" is success: a daemon whose runner ended without releasing (or whose
        // first claim's answer was lost) can take its own record up again.
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var first = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);

        var again = await Store.TryClaimInstanceAsync(a, r.Value.Id, first.Record!.Revision, r.Value with { Reason = "again" }, None);
        var write = await Store.UpdateInstanceAsync(again.Ownership!, r.Value with { Reason = "still mine" }, again.Record!.Revision, false, None);

        Assert.True(again.Claimed);
        Assert.Equal("again", again.Record.Value.Reason);
        Assert.True(write.Ok);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
    }

    [Fact]
    public async Task RetentionDeletesOnlyAnUnownedTerminalRecordAtItsRevision()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var a = await GrantAsync("daemon-a");
        var r = records[0];
        var claim = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, r.Value with { State = RecordState.Done }, None);

        var whileOwned = await Store.DeleteInstanceIfAsync(r.Value.Id, claim.Record!.Revision, None);
        var notTerminal = await Store.DeleteInstanceIfAsync(records[1].Value.Id, records[1].Revision, None);
        await Store.ReleaseAsync(claim.Ownership!, None);
        var stale = await Store.DeleteInstanceIfAsync(r.Value.Id, r.Revision, None);
        var deleted = await Store.DeleteInstanceIfAsync(r.Value.Id, claim.Record.Revision, None);
        var again = await Store.DeleteInstanceIfAsync(r.Value.Id, claim.Record.Revision, None);

        Assert.Equal(WriteStatus.Conflict, whileOwned.Status);
        Assert.Equal(WriteStatus.Conflict, notTerminal.Status);
        Assert.Equal(WriteStatus.Conflict, stale.Status);
        Assert.True(deleted.Ok);
        Assert.Equal(WriteStatus.NotFound, again.Status);
        Assert.Null(await Store.GetInstanceAsync(r.Value.Id, None));
        Assert.NotNull(await Store.GetInstanceAsync(records[1].Value.Id, None));
    }

    [Fact]
    public async Task TheControlRecordChangesOnlyByCompareAndSwap()
    {
        Assert.Null(await Store.GetControlAsync(None));

        var first = await Store.PutControlIfAsync(ControlState.Initial with { Held = true, HeldReason = "maintenance" }, 0, None);
        var again = await Store.PutControlIfAsync(ControlState.Initial, 0, None);
        var next = await Store.PutControlIfAsync(ControlState.Initial with { Held = false }, first.Revision, None);

        Assert.True(first.Ok);
        Assert.Equal(WriteStatus.Conflict, again.Status);
        Assert.True(next.Ok);
        var stored = await Store.GetControlAsync(None);
        Assert.False(stored!.Value.Held);
        Assert.Equal(next.Revision, stored.Revision);
        Assert.Equal(next.Revision, (await Store.ReadSnapshotAsync(None)).Control!.Revision);
    }

    [Fact]
    public async Task AFenceCommitsItsHostAndTheControlRecordTogetherOrNeither()
    {
        var window = ControlState.Initial with { Recent = [new RecentFencing("compute-01", 1, StoreRecords.Epoch)] };
        var ok = await Store.CommitFenceAsync(StoreRecords.Host("compute-01"), 0, window, 0, None);
        var staleControl = await Store.CommitFenceAsync(StoreRecords.Host("compute-02"), 0, window, 0, None);

        Assert.True(ok.Ok);
        Assert.Equal(WriteStatus.Conflict, staleControl.Status);
        Assert.Null(await Store.GetHostAsync("compute-02", None));
        Assert.Equal(ok.Revision, (await Store.GetHostAsync("compute-01", None))!.Revision);
        Assert.Equal("compute-01", Assert.Single((await Store.GetControlAsync(None))!.Value.Recent).Host);
    }

    [Fact]
    public async Task AnOperatorRequestIsRemovedOnlyAtItsRevision()
    {
        var start = (await Store.ReadSnapshotAsync(None)).Revision;
        await using var watch = WatchRecorder.Start(Store, start);
        var first = await Store.PutRequestAsync(new OperatorRequest("compute-01:1:aaaa0001", OperatorAction.Cancel, "wrong host", "alice", StoreRecords.Epoch), None);
        var second = await Store.PutRequestAsync(new OperatorRequest("compute-01:1:aaaa0001", OperatorAction.Retry, "fixed", "bob", StoreRecords.Epoch), None);

        var stale = await Store.DeleteRequestIfAsync("compute-01:1:aaaa0001", first.Revision, None);
        var pending = Assert.Single((await Store.ReadSnapshotAsync(None)).Requests);
        var applied = await Store.DeleteRequestIfAsync("compute-01:1:aaaa0001", second.Revision, None);

        Assert.Equal(WriteStatus.Conflict, stale.Status);
        Assert.Equal((OperatorAction.Retry, "bob", second.Revision), (pending.Value.Action, pending.Value.By, pending.Revision));
        Assert.True(applied.Ok);
        Assert.Empty((await Store.ReadSnapshotAsync(None)).Requests);
        var changes = await watch.TakeUntilAsync(c => c.Any(x => x.Kind == ChangeKind.RequestDeleted));
        Assert.Equal([ChangeKind.RequestPut, ChangeKind.RequestPut, ChangeKind.RequestDeleted], changes.Select(c => c.Kind));
        Assert.Equal(OperatorAction.Cancel, changes[0].Request!.Value.Action);
    }

    [Fact]
    public async Task InFlightSlotsFollowTheRecordsWritesAndDieWithTheLease()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var (a, b) = (records[0], records[1]);
        var la = await GrantAsync("daemon-a");
        var lb = await GrantAsync("daemon-b");

        var takeA = await Store.TryClaimInstanceAsync(la, a.Value.Id, a.Revision, a.Value with { State = RecordState.Evacuating, Slot = 0 }, None);
        var takeB = await Store.TryClaimInstanceAsync(lb, b.Value.Id, b.Revision, b.Value with { State = RecordState.Evacuating, Slot = 0 }, None);
        Assert.True(takeA.Claimed);
        Assert.Equal(ClaimStatus.Conflict, takeB.Status);
        Assert.Equal(a.Value.Id, (await Store.ReadSnapshotAsync(None)).Slots[0]);

        // Leaving flight frees the slot in the same write; then B can take it.
        var doneA = await Store.UpdateInstanceAsync(takeA.Ownership!, takeA.Record!.Value with { State = RecordState.Done, Slot = null }, takeA.Record.Revision, true, None);
        Assert.True(doneA.Ok);
        Assert.Empty((await Store.ReadSnapshotAsync(None)).Slots);
        var takeB2 = await Store.TryClaimInstanceAsync(lb, b.Value.Id, b.Revision, b.Value with { State = RecordState.Evacuating, Slot = 0 }, None);
        Assert.True(takeB2.Claimed);
        Assert.Equal(b.Value.Id, (await Store.ReadSnapshotAsync(None)).Slots[0]);

        // The owner dies: its slot goes with its lease.
        await ExpireLeaseAsync(lb);
        Assert.Empty((await Store.ReadSnapshotAsync(None)).Slots);
    }

    [Fact]
    public async Task ClaimWithAnUpdateWritesItInTheSameStepAndBumpsTheRevision()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var at = StoreRecords.Epoch.AddMinutes(1);
        var update = (r.Value with { Attempt = 1, AttemptStartedAt = at, BaselineMigrationId = 7 })
            .MoveTo(RecordState.Evacuating, "attempt 1 of 3", at, "daemon-a");

        var claim = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, update, None);

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(new Ownership(RecordKey.Instance(r.Value.Id), "daemon-a", a.LeaseId), claim.Ownership);
        Assert.True(claim.Record!.Revision > r.Revision, $"revision {claim.Record.Revision} after {r.Revision}");
        AssertSameRecord(update, claim.Record.Value);
        var stored = await Store.GetInstanceAsync(r.Value.Id, None);
        Assert.Equal(claim.Record.Revision, stored!.Revision);
        AssertSameRecord(update, stored.Value);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
    }

    [Fact]
    public async Task BareClaimTakesOwnershipAndLeavesTheRecordAsItWas()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");

        var claim = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);

        Assert.True(claim.Claimed);
        AssertSameRecord(r.Value, claim.Record!.Value);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        var write = await Store.UpdateInstanceAsync(claim.Ownership!, r.Value with { Reason = "next" }, claim.Record.Revision, false, None);
        Assert.Equal(WriteStatus.Ok, write.Status);
    }

    [Fact]
    public async Task ClaimOfAMissingRecordIsNotFound()
    {
        var a = await GrantAsync("daemon-a");

        Assert.Equal(ClaimStatus.NotFound, (await Store.TryClaimInstanceAsync(a, "compute-09:1:deadbeef", 0, null, None)).Status);
        Assert.Equal(ClaimStatus.NotFound, (await Store.TryClaimHostAsync(a, "compute-09", 0, null, None)).Status);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Host("compute-09"), None));
    }

    [Fact]
    public async Task ClaimWithAnExpiredLeaseIsLeaseLostAndTakesNothing()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001");
        var a = await GrantAsync("daemon-a");
        await ExpireLeaseAsync(a);

        var claim = await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, records[0].Value with { Reason = "zombie" }, None);
        var hostClaim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);

        Assert.Equal(ClaimStatus.LeaseLost, claim.Status);
        Assert.Equal(ClaimStatus.LeaseLost, hostClaim.Status);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(records[0].Value.Id), None));
        Assert.Equal("planned", (await Store.GetInstanceAsync(records[0].Value.Id, None))!.Value.Reason);
    }

    [Fact]
    public async Task RecordOfADaemonWhoseLeaseExpiredIsClaimedByAnother()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var first = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, r.Value with { Reason = "by a" }, None);
        Assert.True(first.Claimed);

        await ExpireLeaseAsync(a);
        var b = await GrantAsync("daemon-b");
        var takeover = await Store.TryClaimInstanceAsync(b, r.Value.Id, first.Record!.Revision, first.Record.Value with { Reason = "by b" }, None);

        Assert.Equal(ClaimStatus.Claimed, takeover.Status);
        Assert.Equal("daemon-b", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        Assert.Equal("by b", (await Store.GetInstanceAsync(r.Value.Id, None))!.Value.Reason);
    }

    // ---------------------------------------------------------------- owned writes

    [Fact]
    public async Task StaleOwnerCannotChangeAnythingAfterATakeover()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, r.Value with { Reason = "by a" }, None);
        Assert.True(mine.Claimed);
        await ExpireLeaseAsync(a);
        var b = await GrantAsync("daemon-b");
        var theirs = await Store.TryClaimInstanceAsync(b, r.Value.Id, mine.Record!.Revision, mine.Record.Value with { Reason = "by b" }, None);
        Assert.True(theirs.Claimed);

        // The zombie writes with its old ownership, even at the record's current revision.
        var write = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "zombie" }, theirs.Record!.Revision, false, None);
        var release = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "zombie" }, theirs.Record.Revision, true, None);
        await Store.ReleaseAsync(mine.Ownership!, None);

        Assert.Contains(write.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        Assert.Contains(release.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        var stored = await Store.GetInstanceAsync(r.Value.Id, None);
        Assert.Equal("by b", stored!.Value.Reason);
        Assert.Equal(theirs.Record.Revision, stored.Revision);
        Assert.Equal("daemon-b", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));

        // Coming back with a new lease under the same daemon id does not revive the old ownership.
        var again = await GrantAsync("daemon-a");
        Assert.NotEqual(a.LeaseId, again.LeaseId);
        var revived = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "zombie" }, theirs.Record.Revision, false, None);
        Assert.Contains(revived.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        var reclaim = await Store.TryClaimInstanceAsync(again, r.Value.Id, theirs.Record.Revision, null, None);
        Assert.Equal(ClaimStatus.OwnedByOther, reclaim.Status);
        Assert.Equal("daemon-b", reclaim.CurrentOwner);
        Assert.Equal("by b", (await Store.GetInstanceAsync(r.Value.Id, None))!.Value.Reason);
    }

    [Fact]
    public async Task OwnerWhoseLeaseExpiredCannotWriteEvenIfNobodyTookOver()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);
        var hostClaim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        Assert.True(mine.Claimed && hostClaim.Claimed);

        await ExpireLeaseAsync(a);
        var write = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "zombie" }, mine.Record!.Revision, false, None);
        var hostWrite = await Store.UpdateHostAsync(hostClaim.Ownership!, host.Value with { Reason = "zombie" }, hostClaim.Record!.Revision, false, None);
        var plan = await Store.CommitPlanAsync(hostClaim.Ownership!, host.Value with { Reason = "zombie" }, hostClaim.Record.Revision,
            [StoreRecords.Instance("compute-01", "aaaa0009")], None);

        Assert.Contains(write.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        Assert.Contains(hostWrite.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        Assert.Contains(plan.Status, new[] { WriteStatus.LeaseLost, WriteStatus.NotOwner });
        Assert.Equal(mine.Record.Revision, (await Store.GetInstanceAsync(r.Value.Id, None))!.Revision);
        Assert.Equal(hostClaim.Record.Revision, (await Store.GetHostAsync("compute-01", None))!.Revision);
        Assert.Null(await Store.GetInstanceAsync("compute-01:1:aaaa0009", None));
    }

    [Fact]
    public async Task OwnerThatReleasedCannotWriteOnceAnotherClaimed()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);
        await Store.ReleaseAsync(mine.Ownership!, None);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        var theirs = await Store.TryClaimInstanceAsync(b, r.Value.Id, r.Revision, null, None);
        Assert.True(theirs.Claimed);

        var write = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "by a" }, theirs.Record!.Revision, false, None);

        Assert.Equal(WriteStatus.NotOwner, write.Status);
        Assert.Equal("planned", (await Store.GetInstanceAsync(r.Value.Id, None))!.Value.Reason);
        Assert.Equal("daemon-b", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
    }

    [Fact]
    public async Task UpdateWithReleaseCommitsAndDeletesTheOwnerKeyTogether()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None);
        await using var watch = WatchRecorder.Start(Store, (await Store.ReadSnapshotAsync(None)).Revision);
        var done = r.Value.MoveTo(RecordState.Done, "rebuilt on compute-02", StoreRecords.Epoch.AddMinutes(2), "daemon-a");

        var write = await Store.UpdateInstanceAsync(mine.Ownership!, done, mine.Record!.Revision, true, None);

        Assert.Equal(WriteStatus.Ok, write.Status);
        Assert.True(write.Revision > mine.Record.Revision);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
        var stored = await Store.GetInstanceAsync(r.Value.Id, None);
        Assert.Equal(write.Revision, stored!.Revision);
        AssertSameRecord(done, stored.Value);
        var events = await watch.TakeUntilAsync(seen =>
            seen.Any(e => e.Kind == ChangeKind.InstancePut) && seen.Any(e => e.Kind == ChangeKind.OwnerDeleted));
        Assert.All(events, e => Assert.Equal(write.Revision, e.Revision));
        var b = await GrantAsync("daemon-b");
        Assert.True((await Store.TryClaimInstanceAsync(b, r.Value.Id, write.Revision, null, None)).Claimed);
    }

    [Fact]
    public async Task UpdateAtAnOutdatedRevisionIsAConflictAndKeepsTheOwner()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var mine = await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, r.Value with { Reason = "one" }, None);
        var second = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "two" }, mine.Record!.Revision, false, None);
        Assert.True(second.Ok);

        var stale = await Store.UpdateInstanceAsync(mine.Ownership!, r.Value with { Reason = "three" }, mine.Record.Revision, true, None);

        Assert.Equal(WriteStatus.Conflict, stale.Status);
        var stored = await Store.GetInstanceAsync(r.Value.Id, None);
        Assert.Equal("two", stored!.Value.Reason);
        Assert.Equal(second.Revision, stored.Revision);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
    }

    [Fact]
    public async Task OwnershipOfOneInstanceRecordDoesNotAllowWritingAnother()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        var mine = await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, null, None);
        var theirs = await Store.TryClaimInstanceAsync(b, records[1].Value.Id, records[1].Revision, null, None);
        Assert.True(mine.Claimed && theirs.Claimed);

        // daemon-a owns the first record and writes the second one (owned by daemon-b) with that proof.
        var write = await Store.UpdateInstanceAsync(mine.Ownership!, records[1].Value with { Reason = "hijacked" }, theirs.Record!.Revision, false, None);

        Assert.NotEqual(WriteStatus.Ok, write.Status);
        var stored = await Store.GetInstanceAsync(records[1].Value.Id, None);
        Assert.Equal("planned", stored!.Value.Reason);
        Assert.Equal(theirs.Record.Revision, stored.Revision);
    }

    [Fact]
    public async Task OwnershipOfAnInstanceRecordDoesNotAllowWritingItsHost()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001");
        var a = await GrantAsync("daemon-a");
        var mine = await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, null, None);
        Assert.True(mine.Claimed);

        var write = await Store.UpdateHostAsync(mine.Ownership!, host.Value with { Reason = "hijacked" }, host.Revision, false, None);

        Assert.NotEqual(WriteStatus.Ok, write.Status);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal(host.Revision, stored!.Revision);
        Assert.NotEqual("hijacked", stored.Value.Reason);
    }

    [Fact]
    public async Task ReleaseByADaemonThatDoesNotOwnTheRecordDoesNothing()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var r = records[0];
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        Assert.True((await Store.TryClaimInstanceAsync(a, r.Value.Id, r.Revision, null, None)).Claimed);

        await Store.ReleaseAsync(new Ownership(RecordKey.Instance(r.Value.Id), "daemon-b", b.LeaseId), None);

        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(r.Value.Id), None));
    }

    [Fact]
    public async Task HostOwnerUpdatesAndReleasesTheHostRecord()
    {
        var (host, _) = await SeedAsync("compute-01");
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        Assert.Equal(new Ownership(RecordKey.Host("compute-01"), "daemon-a", a.LeaseId), claim.Ownership);
        var done = host.Value.MoveTo(HostState.Done, "fencing ended: 1 done", StoreRecords.Epoch.AddMinutes(3), "daemon-a");

        var write = await Store.UpdateHostAsync(claim.Ownership!, done, claim.Record!.Revision, true, None);

        Assert.Equal(WriteStatus.Ok, write.Status);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal(HostState.Done, stored!.Value.State);
        Assert.Equal(write.Revision, stored.Revision);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
        var stale = await Store.UpdateHostAsync(claim.Ownership!, host.Value, write.Revision, false, None);
        Assert.Equal(WriteStatus.NotOwner, stale.Status);
    }

    // ---------------------------------------------------------------- planning and intake

    [Fact]
    public async Task CommitPlanCreatesOnlyMissingRecordsAndLeavesExistingOnesUnchanged()
    {
        var (host, records) = await SeedAsync("compute-01", "aaaa0001");
        var existing = records[0];
        var b = await GrantAsync("daemon-b");
        var moved = await Store.TryClaimInstanceAsync(b, existing.Value.Id, existing.Revision,
            existing.Value.MoveTo(RecordState.Evacuating, "attempt 1 of 3", StoreRecords.Epoch.AddMinutes(1), "daemon-b"), None);
        Assert.True(moved.Claimed);
        var a = await GrantAsync("daemon-a");
        var hostClaim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        var newOne = StoreRecords.Instance("compute-01", "aaaa0002");
        var update = host.Value.Note("re-planned", StoreRecords.Epoch.AddMinutes(2), "daemon-a");

        var write = await Store.CommitPlanAsync(hostClaim.Ownership!, update, hostClaim.Record!.Revision, [StoreRecords.Instance("compute-01", "aaaa0001"), newOne], None);

        Assert.Equal(WriteStatus.Ok, write.Status);
        var kept = await Store.GetInstanceAsync(existing.Value.Id, None);
        Assert.Equal(RecordState.Evacuating, kept!.Value.State);
        Assert.Equal(moved.Record!.Revision, kept.Revision);
        Assert.Equal("daemon-b", await Store.GetOwnerAsync(RecordKey.Instance(existing.Value.Id), None));
        var created = await Store.GetInstanceAsync(newOne.Id, None);
        AssertSameRecord(newOne, created!.Value);
        var storedHost = await Store.GetHostAsync("compute-01", None);
        Assert.Equal("re-planned", storedHost!.Value.Reason);
        Assert.Equal(write.Revision, storedHost.Revision);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
    }

    [Fact]
    public async Task CommitPlanMakesTheHostUpdateVisibleOnlyWithItsRecords()
    {
        var host = await PutNewHostAsync("compute-01");
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        await using var watch = WatchRecorder.Start(Store, claim.Record!.Revision);
        var plan = new[] { StoreRecords.Instance("compute-01", "aaaa0001"), StoreRecords.Instance("compute-01", "aaaa0002"), StoreRecords.Instance("compute-01", "aaaa0003") };
        var update = (host.Value with { Planned = true, ForcedDown = true }).MoveTo(HostState.Evacuating, "3 to evacuate", StoreRecords.Epoch.AddMinutes(1), "daemon-a");

        var write = await Store.CommitPlanAsync(claim.Ownership!, update, claim.Record.Revision, plan, None);

        Assert.Equal(WriteStatus.Ok, write.Status);
        var events = await watch.TakeUntilAsync(seen => seen.Any(e => e.Kind == ChangeKind.HostPut) && seen.Count(e => e.Kind == ChangeKind.InstancePut) == 3);
        var hostPut = events.Single(e => e.Kind == ChangeKind.HostPut);
        Assert.Equal(write.Revision, hostPut.Revision);
        Assert.All(events.Where(e => e.Kind == ChangeKind.InstancePut), e => Assert.True(e.Revision <= hostPut.Revision));
        Assert.Equal(3, (await Store.ListInstancesAsync("compute-01", 1, None)).Count);
    }

    [Fact]
    public async Task CommitPlanWithoutOwningTheHostChangesNothing()
    {
        var host = await PutNewHostAsync("compute-01");
        var a = await GrantAsync("daemon-a");
        var b = await GrantAsync("daemon-b");
        Assert.True((await Store.TryClaimHostAsync(b, "compute-01", host.Revision, null, None)).Claimed);
        var forged = new Ownership(RecordKey.Host("compute-01"), "daemon-a", a.LeaseId);

        var write = await Store.CommitPlanAsync(forged, host.Value.Note("planned by a", StoreRecords.Epoch, "daemon-a"), host.Revision,
            [StoreRecords.Instance("compute-01", "aaaa0001")], None);

        Assert.Equal(WriteStatus.NotOwner, write.Status);
        Assert.Empty(await Store.ListInstancesAsync("compute-01", 0, None));
        Assert.Equal(host.Revision, (await Store.GetHostAsync("compute-01", None))!.Revision);
    }

    [Fact]
    public async Task PutHostIfWithRevisionZeroCreatesOnlyAMissingHost()
    {
        var first = StoreRecords.Host("compute-01", reason: "first");

        var created = await Store.PutHostIfAsync(first, 0, None);
        var again = await Store.PutHostIfAsync(StoreRecords.Host("compute-01", reason: "second"), 0, None);

        Assert.Equal(WriteStatus.Ok, created.Status);
        Assert.True(created.Revision > 0);
        Assert.Equal(WriteStatus.Conflict, again.Status);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal("first", stored!.Value.Reason);
        Assert.Equal(created.Revision, stored.Revision);
    }

    [Fact]
    public async Task PutHostIfReplacesOnlyAtTheCurrentRevision()
    {
        var created = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var next = await Store.PutHostIfAsync(StoreRecords.Host("compute-01", 2, "second fencing"), created.Revision, None);
        var stale = await Store.PutHostIfAsync(StoreRecords.Host("compute-01", 3, "stale"), created.Revision, None);

        Assert.Equal(WriteStatus.Ok, next.Status);
        Assert.True(next.Revision > created.Revision);
        Assert.Equal(WriteStatus.Conflict, stale.Status);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal(2, stored!.Value.FenceGeneration);
        Assert.Equal(next.Revision, stored.Revision);
    }

    [Fact]
    public async Task PutHostIfOnAnOwnedHostIsAConflictEvenAtTheCurrentRevision()
    {
        var host = await PutNewHostAsync("compute-01");
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimHostAsync(a, "compute-01", host.Revision, null, None);
        Assert.True(claim.Claimed);

        var put = await Store.PutHostIfAsync(StoreRecords.Host("compute-01", 2, "replaced"), claim.Record!.Revision, None);

        Assert.Equal(WriteStatus.Conflict, put.Status);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal(1, stored!.Value.FenceGeneration);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Host("compute-01"), None));
    }

    // ---------------------------------------------------------------- reads, revisions, watches

    [Fact]
    public async Task RevisionsIncreaseWithEveryCommittedChange()
    {
        var revisions = new List<long> { (await Store.ReadSnapshotAsync(None)).Revision };
        var put = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        revisions.Add(put.Revision);
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimHostAsync(a, "compute-01", put.Revision, null, None);
        var plan = await Store.CommitPlanAsync(claim.Ownership!, StoreRecords.Host("compute-01").Note("planned", StoreRecords.Epoch, "daemon-a"),
            claim.Record!.Revision, [StoreRecords.Instance("compute-01", "aaaa0001")], None);
        revisions.Add(plan.Revision);
        var ic = await Store.TryClaimInstanceAsync(a, "compute-01:1:aaaa0001", plan.Revision, StoreRecords.Instance("compute-01", "aaaa0001") with { Reason = "claimed" }, None);
        revisions.Add(ic.Record!.Revision);
        var upd = await Store.UpdateInstanceAsync(ic.Ownership!, StoreRecords.Instance("compute-01", "aaaa0001") with { Reason = "updated" }, ic.Record.Revision, false, None);
        revisions.Add(upd.Revision);
        var host = await Store.UpdateHostAsync(claim.Ownership!, StoreRecords.Host("compute-01").Note("again", StoreRecords.Epoch, "daemon-a"), plan.Revision, true, None);
        revisions.Add(host.Revision);
        var snap = await Store.ReadSnapshotAsync(None);

        Assert.All(revisions.Skip(1), r => Assert.True(r > 0));
        for (var i = 1; i < revisions.Count; i++)
        {
            Assert.True(revisions[i] > revisions[i - 1], $"revision #{i} {revisions[i]} after {revisions[i - 1]}");
        }
        Assert.True(snap.Revision >= host.Revision);
        Assert.Equal(upd.Revision, (await Store.GetInstanceAsync("compute-01:1:aaaa0001", None))!.Revision);
        Assert.Equal(host.Revision, (await Store.GetHostAsync("compute-01", None))!.Revision);
    }

    [Fact]
    public async Task SnapshotHoldsHostsRecordsOwnersAndDaemons()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimInstanceAsync(a, records[1].Value.Id, records[1].Revision, null, None);

        var snap = await Store.ReadSnapshotAsync(None);

        Assert.Equal(["compute-01"], snap.Hosts.Select(h => h.Value.Name));
        Assert.Equal(records.Select(r => r.Value.Id).Order(StringComparer.Ordinal), snap.Instances.Select(i => i.Value.Id).Order(StringComparer.Ordinal));
        Assert.Equal("daemon-a", snap.Owners[RecordKey.Instance(records[1].Value.Id)]);
        Assert.False(snap.Owners.ContainsKey(RecordKey.Instance(records[0].Value.Id)));
        Assert.Contains(snap.Daemons, d => d.Id == "daemon-a" && d.LeaseId == a.LeaseId);
        Assert.True(snap.Revision >= claim.Record!.Revision);
        Assert.All(snap.Instances, i => Assert.True(i.Revision <= snap.Revision));
    }

    [Fact]
    public async Task ListInstancesFiltersByHostAndGeneration()
    {
        await SeedAsync("compute-01", "aaaa0001", "aaaa0002");
        await SeedAsync("compute-02", "bbbb0001");
        await SeedAsync("compute-01", 2, "cccc0001");

        Assert.Equal(4, (await Store.ListInstancesAsync(null, 0, None)).Count);
        Assert.Equal(["compute-01:1:aaaa0001", "compute-01:1:aaaa0002", "compute-01:2:cccc0001"],
            (await Store.ListInstancesAsync("compute-01", 0, None)).Select(v => v.Value.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["compute-01:2:cccc0001"], (await Store.ListInstancesAsync("compute-01", 2, None)).Select(v => v.Value.Id));
        Assert.Equal(["compute-02:1:bbbb0001"], (await Store.ListInstancesAsync("compute-02", 1, None)).Select(v => v.Value.Id));
        Assert.Empty(await Store.ListInstancesAsync("compute-03", 0, None));
        Assert.Equal(["compute-01", "compute-02"], (await Store.ListHostsAsync(None)).Select(h => h.Value.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task WatchReplaysChangesAfterTheRevisionInOrderThenLiveOnes()
    {
        var first = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var second = await Store.PutHostIfAsync(StoreRecords.Host("compute-02"), 0, None);
        var third = await Store.PutHostIfAsync(StoreRecords.Host("compute-01", 2, "second fencing"), first.Revision, None);
        await using var watch = WatchRecorder.Start(Store, first.Revision);

        var e1 = await watch.NextAsync();
        var e2 = await watch.NextAsync();
        var fourth = await Store.PutHostIfAsync(StoreRecords.Host("compute-03"), 0, None);
        var e3 = await watch.NextAsync();

        Assert.Equal((ChangeKind.HostPut, second.Revision, "compute-02"), (e1.Kind, e1.Revision, e1.Host!.Value.Name));
        Assert.Equal((ChangeKind.HostPut, third.Revision, "compute-01", 2L), (e2.Kind, e2.Revision, e2.Host!.Value.Name, e2.Host.Value.FenceGeneration));
        Assert.Equal(third.Revision, e2.Host.Revision);
        Assert.Equal((ChangeKind.HostPut, fourth.Revision, "compute-03"), (e3.Kind, e3.Revision, e3.Host!.Value.Name));
        Assert.Equal(RecordKey.Host("compute-03"), e3.Key);
    }

    [Fact]
    public async Task WatchReportsClaimsAndDaemonsWithTheirIds()
    {
        var (_, records) = await SeedAsync("compute-01", "aaaa0001");
        var from = (await Store.ReadSnapshotAsync(None)).Revision;
        await using var watch = WatchRecorder.Start(Store, from);
        var a = await GrantAsync("daemon-a");
        var claim = await Store.TryClaimInstanceAsync(a, records[0].Value.Id, records[0].Revision, records[0].Value with { Reason = "mine" }, None);

        var events = await watch.TakeUntilAsync(seen => seen.Any(e => e.Kind == ChangeKind.OwnerPut) && seen.Any(e => e.Kind == ChangeKind.InstancePut));

        var daemon = events.First(e => e.Kind == ChangeKind.DaemonPut);
        Assert.Equal(("daemon-a", a.LeaseId), (daemon.Daemon!.Id, daemon.Daemon.LeaseId));
        var owner = events.Single(e => e.Kind == ChangeKind.OwnerPut);
        Assert.Equal((RecordKey.Instance(records[0].Value.Id), "daemon-a"), (owner.Key!.Value, owner.Owner));
        var put = events.Single(e => e.Kind == ChangeKind.InstancePut);
        Assert.Equal(("mine", claim.Record!.Revision), (put.Instance!.Value.Reason, put.Instance.Revision));
        Assert.True(daemon.Revision < owner.Revision);
    }

    [Fact]
    public async Task AWatchItsCallerCancelsEndsWithOperationCanceled()
    {
        // The daemon cancels its watch for every periodic resync: that is not a failure.
        var first = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var second = await Store.PutHostIfAsync(StoreRecords.Host("compute-02"), 0, None);
        using var cancel = new CancellationTokenSource();
        await using var changes = Store.WatchAsync(first.Revision, cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.True(await changes.MoveNextAsync());
        Assert.Equal(second.Revision, changes.Current.Revision);

        var waiting = changes.MoveNextAsync().AsTask(); // nothing more comes: waits on the open stream
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task WatchFromACompactedRevisionThrowsWatchCompacted()
    {
        var first = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var second = await Store.PutHostIfAsync(StoreRecords.Host("compute-02"), 0, None);
        await CompactAsync();

        // Compacted at the current revision (etcd's meaning): history before it is gone.
        await using var tooOld = WatchRecorder.Start(Store, first.Revision - 1);
        await Assert.ThrowsAsync<WatchCompactedException>(() => tooOld.NextAsync());

        // From the compaction point on, watching works again.
        await using var fresh = WatchRecorder.Start(Store, second.Revision);
        var third = await Store.PutHostIfAsync(StoreRecords.Host("compute-03"), 0, None);
        var e = await fresh.NextAsync();
        Assert.Equal((third.Revision, "compute-03"), (e.Revision, e.Host!.Value.Name));
    }

    // ---------------------------------------------------------------- helpers

    protected Task<DaemonLease> GrantAsync(string daemonId) => Store.GrantLeaseAsync(StoreRecords.Daemon(daemonId), LeaseTtl, None);

    /// <summary>Creates (or replaces) the host's record at generation 1 with no owner.</summary>
    protected async Task<Versioned<HostRecord>> PutNewHostAsync(string host, long generation = 1)
    {
        var current = await Store.GetHostAsync(host, None).ConfigureAwait(false);
        var put = await Store.PutHostIfAsync(StoreRecords.Host(host, generation), current?.Revision ?? 0, None).ConfigureAwait(false);
        Assert.Equal(WriteStatus.Ok, put.Status);
        return (await Store.GetHostAsync(host, None).ConfigureAwait(false))!;
    }

    protected Task<(Versioned<HostRecord> Host, IReadOnlyList<Versioned<InstanceRecord>> Records)> SeedAsync(string host, params string[] suffixes) =>
        SeedAsync(host, 1, suffixes);

    /// <summary>
    /// A fenced host with planned, unowned instance records, made the way the daemon makes
    /// them (intake, claim, commit plan, release); the planner's lease is revoked afterwards.
    /// </summary>
    protected async Task<(Versioned<HostRecord> Host, IReadOnlyList<Versioned<InstanceRecord>> Records)> SeedAsync(string host, long generation, params string[] suffixes)
    {
        var created = await PutNewHostAsync(host, generation).ConfigureAwait(false);
        var planner = await Store.GrantLeaseAsync(StoreRecords.Daemon($"planner-{host}-{generation}"), LeaseTtl, None).ConfigureAwait(false);
        var claim = await Store.TryClaimHostAsync(planner, host, created.Revision, null, None).ConfigureAwait(false);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        var records = suffixes.Select(s => StoreRecords.Instance(host, s, generation)).ToList();
        var planned = (created.Value with { Planned = true, ForcedDown = true })
            .MoveTo(HostState.Evacuating, $"{records.Count} to evacuate", StoreRecords.Epoch, planner.DaemonId);
        var commit = await Store.CommitPlanAsync(claim.Ownership!, planned, claim.Record!.Revision, records, None).ConfigureAwait(false);
        Assert.Equal(WriteStatus.Ok, commit.Status);
        await Store.ReleaseAsync(claim.Ownership!, None).ConfigureAwait(false);
        await Store.RevokeLeaseAsync(planner, None).ConfigureAwait(false);
        var stored = new List<Versioned<InstanceRecord>>();
        foreach (var r in records)
        {
            stored.Add((await Store.GetInstanceAsync(r.Id, None).ConfigureAwait(false))!);
        }
        return ((await Store.GetHostAsync(host, None).ConfigureAwait(false))!, stored);
    }

    /// <summary>Field-wise comparison (a store may serialise records, so collections are compared by content).</summary>
    protected static void AssertSameRecord(InstanceRecord expected, InstanceRecord actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.InstanceUuid, actual.InstanceUuid);
        Assert.Equal(expected.SourceHost, actual.SourceHost);
        Assert.Equal(expected.FenceGeneration, actual.FenceGeneration);
        Assert.Equal(expected.State, actual.State);
        Assert.Equal(expected.StateSince, actual.StateSince);
        Assert.Equal(expected.Reason, actual.Reason);
        Assert.Equal(expected.Attempt, actual.Attempt);
        Assert.Equal(expected.AttemptStartedAt, actual.AttemptStartedAt);
        Assert.Equal(expected.BaselineMigrationId, actual.BaselineMigrationId);
        Assert.Equal(expected.History, actual.History);
    }
}
