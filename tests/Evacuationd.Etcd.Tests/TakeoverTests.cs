using Evacuationd.Core.Records;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// L2: three daemons on a 3-member etcd drive a simulated cloud; the daemon owning in-flight
/// records dies, or etcd's leader does. Nothing may be lost, nothing evacuated twice (S3-S5).
/// </summary>
public sealed class TakeoverTests(EtcdClusterFixture etcd) : IClassFixture<EtcdClusterFixture>
{
    [Fact]
    public async Task WhenTheOwnerOfInFlightRecordsDiesTheOthersFinishThemWithoutDuplicates()
    {
        await using var cloud = await EtcdCloud.StartAsync(etcd.ClientUrls, etcd.NewKeyPrefix());
        await cloud.FenceAsync("compute-01");
        var busy = await cloud.WaitAsync(s => EtcdCloud.BusiestInFlight(s) is { Records.Count: >= 2 }, TimeSpan.FromSeconds(30));
        var (victim, orphans) = EtcdCloud.BusiestInFlight(busy)!.Value;

        cloud.Daemons.Single(d => d.Id == victim).Kill(); // no release, no revoke: like kill -9
        var end = await cloud.WaitAsync(s => EtcdCloud.FencingEnded(s, "compute-01"), TimeSpan.FromSeconds(60));

        var records = end.Instances.Where(v => v.Value.SourceHost == "compute-01").Select(v => v.Value).ToList();
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.Equal(RecordState.Done, r.State));
        foreach (var id in orphans)
        {
            var r = records.Single(x => x.Id == id);
            Assert.NotEqual(victim, r.History[^1].Daemon); // finished by a successor
            Assert.Equal(1, r.Adoptions); // counted once for the poison guard
        }
        var stats = cloud.Sim.GetStats();
        Assert.Equal(0, stats.DuplicateEvacuations);
        Assert.All(records, r => Assert.Equal(1, stats.EvacuateCalls[r.InstanceUuid]));
        Assert.All(records, r => Assert.NotEqual("compute-01", cloud.Sim.GetInstance(r.InstanceUuid)!.Host));
    }

    [Fact]
    public async Task AGracefulStopRevokesTheLeaseAndTheOthersContinueAtOnce()
    {
        // A lease of a minute: had the others to wait for its expiry, the wait below would time out.
        await using var cloud = await EtcdCloud.StartAsync(etcd.ClientUrls, etcd.NewKeyPrefix(), leaseTtl: TimeSpan.FromSeconds(60));
        await cloud.FenceAsync("compute-03");
        var busy = await cloud.WaitAsync(s => EtcdCloud.BusiestInFlight(s) is { Records.Count: >= 1 }, TimeSpan.FromSeconds(30));
        var (victim, handed) = EtcdCloud.BusiestInFlight(busy)!.Value;

        await cloud.Daemons.Single(d => d.Id == victim).StopAsync(CancellationToken.None);
        var end = await cloud.WaitAsync(s => EtcdCloud.FencingEnded(s, "compute-03"), TimeSpan.FromSeconds(30));

        var records = end.Instances.Where(v => v.Value.SourceHost == "compute-03").Select(v => v.Value).ToList();
        Assert.All(records, r => Assert.Equal(RecordState.Done, r.State));
        Assert.DoesNotContain(end.Daemons, d => d.Id == victim);
        foreach (var id in handed)
        {
            var r = records.Single(x => x.Id == id);
            Assert.NotEqual(victim, r.History[^1].Daemon);
            Assert.Equal(0, r.Adoptions); // a handover, not an adoption
        }
        Assert.Equal(0, cloud.Sim.GetStats().DuplicateEvacuations);
    }

    [Fact]
    public async Task KillingTheEtcdLeaderMidRunLosesNothingAndDuplicatesNothing()
    {
        await using var cloud = await EtcdCloud.StartAsync(etcd.ClientUrls, etcd.NewKeyPrefix(), instancesPerHost: 8);
        await cloud.FenceAsync("compute-02");
        await cloud.WaitAsync(s => s.Instances.Count(v => v.Value.State.IsInFlight()) >= 3, TimeSpan.FromSeconds(30));
        var leader = await etcd.Cluster.LeaderAsync() ?? throw new InvalidOperationException("no etcd leader");

        leader.Kill();
        try
        {
            var end = await cloud.WaitAsync(s => EtcdCloud.FencingEnded(s, "compute-02"), TimeSpan.FromSeconds(90));

            var records = end.Instances.Where(v => v.Value.SourceHost == "compute-02").Select(v => v.Value).ToList();
            Assert.Equal(8, records.Count);
            Assert.All(records, r => Assert.Equal(RecordState.Done, r.State));
            var stats = cloud.Sim.GetStats();
            Assert.Equal(0, stats.DuplicateEvacuations);
            Assert.All(records, r => Assert.Equal(1, stats.EvacuateCalls[r.InstanceUuid]));
            Assert.Equal(HostState.Done, end.Hosts.Single(h => h.Value.Name == "compute-02").Value.State);
        }
        finally
        {
            await leader.RestartAsync();
        }
    }
}
