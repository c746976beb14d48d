using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Etcd;
using Evacuationd.Testing.Store;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// A call its caller cancels ends with <see cref="OperationCanceledException"/>, as the engine
/// expects of every store, not with gRPC's RpcException(Cancelled): the chaos suite saw a daemon
/// whose lease ran out log every running record as "runner failed unexpectedly", and every
/// periodic resync of the watch logged as "watch failed" and backed off.
/// </summary>
public sealed class CancellationTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>, IDisposable
{
    private readonly EtcdEvacuationStore _store = new(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix() }, TimeProvider.System);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ReadsAndWritesItsCallerCancelledThrowOperationCanceled()
    {
        using var lost = new CancellationTokenSource();
        await lost.CancelAsync(); // a daemon's lease is gone: every step's token is cancelled

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.GetInstanceAsync("compute-01:1:aaaa0001", lost.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, lost.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.ReadSnapshotAsync(lost.Token));
        var lease = await _store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(30), CancellationToken.None);
        var owner = new Ownership(RecordKey.Host("compute-01"), lease.DaemonId, lease.LeaseId);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.UpdateHostAsync(owner, StoreRecords.Host("compute-01"), 1, release: false, lost.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.TryClaimHostAsync(lease, "compute-01", 1, null, lost.Token));
    }
}
