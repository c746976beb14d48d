using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Etcd;
using Evacuationd.Testing.Store;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// A write whose outcome is unknown (timeout, leader change) is resolved by re-reading:
/// "already applied / already mine" is success, "untouched" is sent again, nothing twice.
/// </summary>
public sealed class UnknownOutcomeTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>, IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly LosingInterceptor _net = new();
    private EtcdEvacuationStore? _store;

    private EtcdEvacuationStore Store => _store ??= new EtcdEvacuationStore(
        new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix() }, TimeProvider.System, [_net]);

    public void Dispose() => _store?.Dispose();

    [Fact]
    public async Task AFenceWhoseAnswerWasLostIsRecordedOnceAndReportedCommitted()
    {
        var before = await Store.ReadSnapshotAsync(None);
        _net.LoseNextAnswer(_ => true);

        var put = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);

        Assert.Equal(1, _net.AnswersLost);
        Assert.True(put.Ok, put.Detail);
        var stored = await Store.GetHostAsync("compute-01", None);
        Assert.Equal(put.Revision, stored!.Revision);
        Assert.Equal(before.Revision + 1, (await Store.ReadSnapshotAsync(None)).Revision); // one write, not two
    }

    [Fact]
    public async Task AClaimWhoseAnswerWasLostIsMine()
    {
        var (_, record) = await SeedAsync();
        var lease = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(10), None);
        _net.LoseNextAnswer(_ => true);

        var claim = await Store.TryClaimInstanceAsync(lease, record.Value.Id, record.Revision, record.Value with { Reason = "mine" }, None);

        Assert.Equal(1, _net.AnswersLost);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal("mine", claim.Record!.Value.Reason);
        Assert.Equal("daemon-a", await Store.GetOwnerAsync(RecordKey.Instance(record.Value.Id), None));
        var write = await Store.UpdateInstanceAsync(claim.Ownership!, record.Value with { Reason = "next" }, claim.Record.Revision, false, None);
        Assert.True(write.Ok, write.Detail);
    }

    [Fact]
    public async Task AnOwnedWriteWhoseAnswerWasLostIsAppliedOnce()
    {
        var (_, record) = await SeedAsync();
        var lease = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(10), None);
        var claim = await Store.TryClaimInstanceAsync(lease, record.Value.Id, record.Revision, null, None);
        var before = (await Store.ReadSnapshotAsync(None)).Revision;
        _net.LoseNextAnswer(_ => true);

        var done = await Store.UpdateInstanceAsync(claim.Ownership!, record.Value with { State = RecordState.Done, Reason = "done" }, claim.Record!.Revision, release: true, None);

        Assert.True(done.Ok, done.Detail);
        Assert.Equal(before + 1, (await Store.ReadSnapshotAsync(None)).Revision);
        Assert.Equal(RecordState.Done, (await Store.GetInstanceAsync(record.Value.Id, None))!.Value.State);
        Assert.Null(await Store.GetOwnerAsync(RecordKey.Instance(record.Value.Id), None));
    }

    [Fact]
    public async Task AWriteThatNeverReachedEtcdIsSentAgain()
    {
        var (_, record) = await SeedAsync();
        var lease = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(10), None);
        var claim = await Store.TryClaimInstanceAsync(lease, record.Value.Id, record.Revision, null, None);
        _net.FailNextBeforeSend(_ => true);

        var write = await Store.UpdateInstanceAsync(claim.Ownership!, record.Value with { Reason = "second try" }, claim.Record!.Revision, false, None);

        Assert.Equal(1, _net.NotSent);
        Assert.True(write.Ok, write.Detail);
        Assert.Equal("second try", (await Store.GetInstanceAsync(record.Value.Id, None))!.Value.Reason);
    }

    [Fact]
    public async Task ALostAnswerNeverTurnsSomeoneElsesWinIntoMine()
    {
        var (_, record) = await SeedAsync();
        var a = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(10), None);
        var b = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-b"), TimeSpan.FromSeconds(10), None);
        var theirs = await Store.TryClaimInstanceAsync(b, record.Value.Id, record.Revision, null, None);
        _net.FailNextBeforeSend(_ => true);

        var mine = await Store.TryClaimInstanceAsync(a, record.Value.Id, record.Revision, null, None);

        Assert.True(theirs.Claimed);
        Assert.Equal(ClaimStatus.OwnedByOther, mine.Status);
        Assert.Equal("daemon-b", mine.CurrentOwner);
    }

    [Fact]
    public async Task APlanWhoseAnswerWasLostCreatesEachRecordOnce()
    {
        var host = await Store.PutHostIfAsync(StoreRecords.Host("compute-02"), 0, None);
        var lease = await Store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(10), None);
        var claim = await Store.TryClaimHostAsync(lease, "compute-02", host.Revision, null, None);
        var records = Enumerable.Range(1, 5).Select(i => StoreRecords.Instance("compute-02", $"bbbb000{i}")).ToList();
        _net.LoseNextAnswer(_ => true);

        var plan = await Store.CommitPlanAsync(claim.Ownership!, claim.Record!.Value.Note("planned", StoreRecords.Epoch, "daemon-a"), claim.Record.Revision, records, None);

        Assert.True(plan.Ok, plan.Detail);
        Assert.Equal(5, (await Store.ListInstancesAsync("compute-02", 0, None)).Count);
        Assert.Equal("planned", (await Store.GetHostAsync("compute-02", None))!.Value.Reason);
    }

    private async Task<(Versioned<HostRecord> Host, Versioned<InstanceRecord> Record)> SeedAsync()
    {
        var put = await Store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var lease = await Store.GrantLeaseAsync(StoreRecords.Daemon("planner"), TimeSpan.FromSeconds(10), None);
        var claim = await Store.TryClaimHostAsync(lease, "compute-01", put.Revision, null, None);
        var r = StoreRecords.Instance("compute-01", "aaaa0001");
        await Store.CommitPlanAsync(claim.Ownership!, claim.Record!.Value, claim.Record.Revision, [r], None);
        await Store.RevokeLeaseAsync(lease, None);
        return ((await Store.GetHostAsync("compute-01", None))!, (await Store.GetInstanceAsync(r.Id, None))!);
    }
}
