using Evacuationd.Contracts.V1;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Server.Tests.Support;
using Grpc.Health.V1;
using HostState = Evacuationd.Core.Records.HostState;
using RecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Tests;

/// <summary>Several daemons in one process on the in-memory store: handover and takeover (S3, S5).</summary>
public sealed class EngineTakeoverTests
{
    [Fact]
    public async Task AGracefulStopHandsRecordsOverWithoutWaitingForTheLease()
    {
        // A lease of a minute: if the others had to wait for it to expire, the wait below would time out.
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 4, rebuild: TimeSpan.FromSeconds(1), leaseTtl: TimeSpan.FromSeconds(60));
        var api = new Operator.OperatorClient(t.Channel);
        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        var owned = await WaitForOwnedInFlightAsync(t.Cloud.Store, minimum: 1);
        var (victimId, records) = owned.First();
        var victim = t.Cloud.Daemons.Single(d => d.Id == victimId);

        await victim.StopAsync(CancellationToken.None);
        await t.WaitForFencingEndAsync("compute-01", TimeSpan.FromSeconds(30));

        var all = await t.Cloud.Store.ListInstancesAsync("compute-01", 0, CancellationToken.None);
        Assert.All(all, r => Assert.Equal(RecordState.Done, r.Value.State));
        foreach (var id in records)
        {
            var r = all.Single(v => v.Value.Id == id).Value;
            Assert.NotEqual(victimId, r.History[^1].Daemon); // finished by the other daemon
        }
        var stats = t.Sim.GetStats();
        Assert.Equal(0, stats.DuplicateEvacuations);
        Assert.All(all, r => Assert.Equal(1, stats.EvacuateCalls[r.Value.InstanceUuid]));
        Assert.DoesNotContain((await t.Cloud.Store.ListDaemonsAsync(CancellationToken.None)).Select(d => d.Id), id => id == victimId);
    }

    [Fact]
    public async Task MoreFencedHostsThanSlotsStillAllFinish()
    {
        // One daemon that drives two records at once, five hosts fenced at once: a host
        // waiting for its instances must not hold a slot the instances need.
        // (Evacuations go to the one healthy host: the others are all down, some not yet forced down.)
        await using var t = await TestCloud.StartAsync(daemons: 1, hosts: 6, instancesPerHost: 2, maxConcurrent: 2, targetHost: "compute-06",
            configure: e => { e.Policy.MaxHostsInWindow = 10; e.Policy.MaxSharePercent = 100; }); // not the blast-radius guard's case
        var api = new Operator.OperatorClient(t.Channel);
        var fenced = new[] { "compute-01", "compute-02", "compute-03", "compute-04", "compute-05" };
        foreach (var h in fenced)
        {
            t.Sim.PowerOff(h);
        }
        foreach (var h in fenced)
        {
            await api.FenceHostAsync(new FenceHostRequest { Host = h, ConfirmPoweredOff = true });
        }

        foreach (var h in fenced)
        {
            await t.WaitForFencingEndAsync(h, TimeSpan.FromSeconds(60));
        }

        var records = await t.Cloud.Store.ListInstancesAsync(null, 0, CancellationToken.None);
        Assert.Equal(10, records.Count);
        Assert.All(records, r => Assert.Equal(RecordState.Done, r.Value.State));
        Assert.All(await t.Cloud.Store.ListHostsAsync(CancellationToken.None), h => Assert.Equal(HostState.Done, h.Value.State));
        Assert.All(records, r => Assert.Equal("compute-06", t.Sim.GetInstance(r.Value.InstanceUuid)!.Host));
    }

    [Fact]
    public async Task HealthTurnsNotServingWhenNoDaemonHoldsALease()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2);
        var health = new Health.HealthClient(t.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);

        foreach (var d in t.Cloud.Daemons)
        {
            d.Kill();
        }

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    /// <summary>Waits (on the store's watch) until some daemon owns in-flight records; returns owner -> record ids.</summary>
    private static async Task<Dictionary<string, List<string>>> WaitForOwnedInFlightAsync(IEvacuationStore store, int minimum)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var snapshot = await store.ReadSnapshotAsync(cts.Token);
        await foreach (var _ in store.WatchAsync(snapshot.Revision, cts.Token))
        {
            snapshot = await store.ReadSnapshotAsync(cts.Token);
            var inFlight = snapshot.Instances.Where(v => v.Value.State.IsInFlight()).Select(v => RecordKey.Instance(v.Value.Id)).ToHashSet();
            var owned = snapshot.Owners.Where(kv => inFlight.Contains(kv.Key))
                .GroupBy(kv => kv.Value)
                .ToDictionary(g => g.Key, g => g.Select(kv => kv.Key.Id).ToList());
            if (owned.Values.Sum(l => l.Count) >= minimum)
            {
                return owned;
            }
        }
        throw new TimeoutException("no record went in flight");
    }
}
