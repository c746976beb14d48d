using Evacuationd.Core.Store;
using Evacuationd.Testing.Etcd;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Etcd.Tests;

/// <summary>The store contract, unchanged, against a real etcd (Debian's etcd-server, started by the fixture).</summary>
public sealed class EtcdStoreContractTests(EtcdSingleFixture etcd) : EvacuationStoreContract, IClassFixture<EtcdSingleFixture>
{
    /// <summary>etcd's minimum lease TTL.</summary>
    protected override TimeSpan LeaseTtl => TimeSpan.FromSeconds(2);

    protected override DateTimeOffset Now => DateTimeOffset.UtcNow;

    protected override Task<IEvacuationStore> CreateStoreAsync(FakeTimeProvider time) =>
        Task.FromResult<IEvacuationStore>(new EtcdEvacuationStore(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix() }, TimeProvider.System));

    protected override async Task CompactAsync()
    {
        var kv = etcd.Client.GetConnection().KVClient;
        var now = await kv.RangeAsync(new Etcdserverpb.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("/") });
        await kv.CompactAsync(new Etcdserverpb.CompactionRequest { Revision = now.Header.Revision, Physical = true });
    }

    protected override Task LetTimePassAsync(TimeSpan duration) => RealTime.PassAsync(duration);

    protected override Task ExpireLeaseAsync(DaemonLease lease) => RealTime.UntilLeaseGoneAsync(etcd.Client, lease);
}
