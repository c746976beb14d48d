using Evacuationd.Core.Store;
using Evacuationd.Testing.Etcd;
using Evacuationd.Testing.Store;

namespace Evacuationd.Etcd.Tests;

/// <summary>The raw watch and keepalive streams survive the etcd member they used being killed and restarted.</summary>
public sealed class MemberRestartTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task AWatchResumesAfterItsMemberIsKilledAndRestartedWithoutLosingOrRepeatingChanges()
    {
        var member = etcd.Member ?? throw new InvalidOperationException("this test restarts the member it started: run it without EVACUATIOND_TEST_ETCD");
        using var store = new EtcdEvacuationStore(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix() }, TimeProvider.System);
        var start = await store.ReadSnapshotAsync(None);
        await using var watch = WatchRecorder.Start(store, start.Revision);
        var before = await store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        Assert.Equal("compute-01", (await watch.NextAsync()).Host!.Value.Name);

        member.Kill();
        await member.RestartAsync();
        var after = await store.PutHostIfAsync(StoreRecords.Host("compute-02"), 0, None);
        var next = await watch.NextAsync(TimeSpan.FromSeconds(20));

        Assert.True(before.Ok && after.Ok);
        Assert.Equal((after.Revision, "compute-02"), (next.Revision, next.Host!.Value.Name));
    }

    [Fact]
    public async Task KeepaliveFailsWhileItsMemberIsDownAndWorksAgainAfterTheRestart()
    {
        var member = etcd.Member ?? throw new InvalidOperationException("this test restarts the member it started: run it without EVACUATIOND_TEST_ETCD");
        using var store = new EtcdEvacuationStore(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix(), RequestTimeout = TimeSpan.FromSeconds(2) }, TimeProvider.System);
        var lease = await store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(30), None);
        Assert.True((await store.KeepAliveAsync(lease, None)).Alive);

        member.Kill();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.KeepAliveAsync(lease, None));
        await member.RestartAsync();
        var again = await store.KeepAliveAsync(lease, None);

        Assert.True(again.Alive); // etcd restores leases from its data with their full TTL
        Assert.Contains(await store.ListDaemonsAsync(None), d => d.LeaseId == lease.LeaseId);
    }
}
