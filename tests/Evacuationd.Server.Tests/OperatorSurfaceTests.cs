using Evacuationd.Contracts.V1;
using Evacuationd.Core.Store;
using Evacuationd.Server.Tests.Support;
using Evacuationd.Simulator.Faults;
using Grpc.Core;
using CoreHostState = Evacuationd.Core.Records.HostState;
using CoreRecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Tests;

/// <summary>The operator surface over gRPC against the embedded cloud: hold, blast radius, retry, cancel, limits, release (S6, S7).</summary>
public sealed class OperatorSurfaceTests
{
    [Fact]
    public async Task HoldPausesNewFencingsAndResumeLetsThemRun()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2);
        var api = new Operator.OperatorClient(t.Channel);
        var hold = await api.HoldAsync(new HoldRequest { Reason = "network work" });
        t.Sim.PowerOff("compute-01");

        var fenced = await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        var held = await api.GetHostAsync(new HostRequest { Host = "compute-01" });
        var recordsWhileHeld = (await api.ListRecordsAsync(new ListRecordsRequest())).Records.Count;
        var resumed = await api.ResumeAsync(new ResumeRequest());
        await t.WaitForFencingEndAsync("compute-01");

        Assert.True(hold.Held);
        Assert.Equal(HostState.Held, fenced.Host.State);
        Assert.Equal(HostState.Held, held.State);
        Assert.Contains("network work", held.Reason, StringComparison.Ordinal);
        Assert.Equal(0, recordsWhileHeld); // nothing planned, nothing forced down
        Assert.False(resumed.Held);
        Assert.Contains("compute-01", resumed.Reason, StringComparison.Ordinal);
        Assert.Equal(HostState.Done, (await api.GetHostAsync(new HostRequest { Host = "compute-01" })).State);
    }

    [Fact]
    public async Task TheBlastRadiusGuardHoldsAHostUntilAnOperatorConfirmsIt()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2, configure: e => { e.Policy.MaxHostsInWindow = 1; e.Policy.MaxSharePercent = 100; });
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.PowerOff("compute-01");
        t.Sim.PowerOff("compute-02");

        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        var second = await api.FenceHostAsync(new FenceHostRequest { Host = "compute-02", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-01");
        var stillHeld = await api.GetHostAsync(new HostRequest { Host = "compute-02" });
        var confirmed = await api.ConfirmHostAsync(new HostRequest { Host = "compute-02" });
        await t.WaitForFencingEndAsync("compute-02");

        Assert.Equal(HostState.Held, second.Host.State);
        Assert.Contains("blast-radius guard", second.Message, StringComparison.Ordinal);
        Assert.Equal(HostState.Held, stillHeld.State);
        Assert.NotEqual(HostState.Held, confirmed.State);
        Assert.Equal(HostState.Done, (await api.GetHostAsync(new HostRequest { Host = "compute-02" })).State);
        var notHeld = await Assert.ThrowsAsync<RpcException>(() => api.ConfirmHostAsync(new HostRequest { Host = "compute-01" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, notHeld.StatusCode);
    }

    [Fact]
    public async Task ARetriedFailedRecordEndsDoneAndReopensItsFencing()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 1, rebuild: TimeSpan.FromMilliseconds(200));
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.SetFaults([new FaultSpec { Kind = FaultKinds.NoValidHost }], seed: 1);
        t.Sim.PowerOff("compute-01");
        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-01");
        var failed = Assert.Single((await api.ListRecordsAsync(new ListRecordsRequest { Host = "compute-01" })).Records);
        Assert.Equal(RecordState.Failed, failed.State);
        t.Sim.ClearFaults();

        var asked = await api.RetryRecordAsync(new RecordActionRequest { Id = failed.Id, Reason = "capacity added" });
        await t.WaitForAsync(s => s.Instances.Any(v => v.Value.Id == failed.Id && v.Value.State == CoreRecordState.Done)
                                  && s.Hosts.Any(h => h.Value.Name == "compute-01" && h.Value.State == CoreHostState.Done), TimeSpan.FromSeconds(60));

        var done = await api.GetRecordAsync(new GetRecordRequest { Id = failed.Id });
        Assert.Equal(RecordState.Failed, asked.State); // the request is applied by the record's owner, not by the API
        Assert.Equal(RecordState.Done, done.State);
        Assert.Equal(4U, done.Attempt);
        Assert.Contains(done.History, h => h.Reason.Contains("retried by", StringComparison.Ordinal) && h.Reason.Contains("capacity added", StringComparison.Ordinal));
        var host = await api.GetHostAsync(new HostRequest { Host = "compute-01" });
        // The fencing's outcome follows its records: reopened while the retry ran, or re-evaluated after it.
        Assert.Contains(host.History, h => h.Reason.Contains("reopened", StringComparison.Ordinal) || h.Reason.Contains("re-evaluated", StringComparison.Ordinal));
        Assert.Equal(HostState.Done, host.State);
        var refused = await Assert.ThrowsAsync<RpcException>(() => api.RetryRecordAsync(new RecordActionRequest { Id = failed.Id }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
    }

    [Fact]
    public async Task TheGlobalInFlightLimitHoldsAcrossThreeDaemonsAndACancelEndsAWaitingRecord()
    {
        await using var t = await TestCloud.StartAsync(daemons: 3, instancesPerHost: 6, rebuild: TimeSpan.FromMilliseconds(400),
            configure: e => e.Policy.MaxInFlightEvacuations = 2);
        var api = new Operator.OperatorClient(t.Channel);
        var maxInFlight = 0;
        var maxSlots = 0;
        var maxOwnedWaiting = 0;
        var writes = new Dictionary<string, int>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var observer = Task.Run(async () =>
        {
            var start = await t.Cloud.Store.ReadSnapshotAsync(stop.Token);
            try
            {
                await foreach (var change in t.Cloud.Store.WatchAsync(start.Revision, stop.Token))
                {
                    if (change.Kind == ChangeKind.InstancePut && change.Instance is { } put)
                    {
                        writes[put.Value.Id] = writes.GetValueOrDefault(put.Value.Id) + 1;
                    }
                    var s = await t.Cloud.Store.ReadSnapshotAsync(stop.Token);
                    maxInFlight = Math.Max(maxInFlight, s.Instances.Count(v => v.Value.State is CoreRecordState.Evacuating or CoreRecordState.Rebuilding));
                    maxSlots = Math.Max(maxSlots, s.Slots.Count);
                    // A record waiting for a slot is not claimed (a write) just to wait.
                    maxOwnedWaiting = Math.Max(maxOwnedWaiting, s.Instances.Count(v => v.Value.State == CoreRecordState.Accepted && s.Owners.ContainsKey(RecordKey.Instance(v.Value.Id))));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        t.Sim.PowerOff("compute-02");

        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-02", ConfirmPoweredOff = true });
        await t.WaitForAsync(s => s.Instances.Count(v => v.Value.State == CoreRecordState.Rebuilding) == 2, TimeSpan.FromSeconds(30));
        var waiting = (await api.ListRecordsAsync(new ListRecordsRequest { Host = "compute-02", State = RecordState.Accepted })).Records[0];
        await api.CancelRecordAsync(new RecordActionRequest { Id = waiting.Id, Reason = "not needed" });
        await t.WaitForFencingEndAsync("compute-02");
        await stop.CancelAsync();
        await observer;

        var records = (await api.ListRecordsAsync(new ListRecordsRequest { Host = "compute-02" })).Records;
        Assert.Equal(2, maxInFlight);
        Assert.Equal(2, maxSlots);
        Assert.Equal(0, maxOwnedWaiting);
        // Planned, then evacuating, rebuilding and done: one write each, waiting included.
        Assert.All(records.Where(r => r.State == RecordState.Done), r => Assert.Equal(4, writes[r.Id]));
        Assert.Equal(RecordState.Cancelled, records.Single(r => r.Id == waiting.Id).State);
        Assert.Equal(5, records.Count(r => r.State == RecordState.Done));
        Assert.Equal(0, t.Sim.GetStats().DuplicateEvacuations);
        Assert.False(t.Sim.GetStats().EvacuateCalls.ContainsKey(waiting.InstanceUuid)); // cancelled before any call
    }

    [Fact]
    public async Task TheNovaCallLimitIsSharedByAllDaemons()
    {
        // 3 calls at once for the installation: with 3 daemons, one each.
        await using var t = await TestCloud.StartAsync(daemons: 3, instancesPerHost: 4, rebuild: TimeSpan.FromMilliseconds(200),
            configure: e => { e.Policy.MaxConcurrentNovaCalls = 3; e.Policy.MaxHostsInWindow = 10; e.Policy.MaxSharePercent = 100; });
        t.Sim.SetFaults([new FaultSpec { Kind = FaultKinds.Latency, Ms = 50, Path = "/compute" }], seed: 2);
        var fencing = new Fencing.FencingClient(t.Channel); // ReportFenced calls no Nova itself
        foreach (var h in new[] { "compute-01", "compute-02" })
        {
            t.Sim.PowerOff(h);
            await fencing.ReportFencedAsync(new ReportFencedRequest { Host = h });
        }

        await t.WaitForFencingEndAsync("compute-01", TimeSpan.FromSeconds(60));
        await t.WaitForFencingEndAsync("compute-02", TimeSpan.FromSeconds(60));

        var stats = t.Sim.GetStats();
        Assert.InRange(stats.MaxConcurrentComputeRequests, 2, 3);
        Assert.Equal(8, (await t.Cloud.Store.ListInstancesAsync(null, 0, CancellationToken.None)).Count(r => r.Value.State == CoreRecordState.Done));
        Assert.Equal(0, stats.DuplicateEvacuations);
    }

    [Fact]
    public async Task AReleasedHostIsBackInServiceOnlyAfterItsComputeCleanedUp()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 2, rebuild: TimeSpan.FromMilliseconds(200));
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.PowerOff("compute-03");
        var early = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await api.FenceHostAsync(new FenceHostRequest { Host = "compute-03", ConfirmPoweredOff = true });
            await api.ReleaseHostAsync(new HostRequest { Host = "compute-03" });
        });
        await t.WaitForFencingEndAsync("compute-03");

        t.Sim.PowerOn("compute-03"); // its nova-compute restarts and cleans the evacuated instances up
        var released = await api.ReleaseHostAsync(new HostRequest { Host = "compute-03" });

        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);
        Assert.Equal(HostState.Released, released.State);
        var service = t.Sim.GetHosts().Single(h => h.Name == "compute-03");
        Assert.False(service.ForcedDown);
        Assert.Equal("enabled", service.Status);
        Assert.All(t.Sim.ListMigrations().Where(m => m.SourceCompute == "compute-03"), m => Assert.Equal("completed", m.Status));
    }

    [Fact]
    public async Task WithLockingOnServersAreLockedWhileEvacuatedAndUnlockedAfter()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 2, configure: e => e.Policy.LockServers = true);
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.PowerOff("compute-01");

        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-01");

        var actions = t.Sim.GetRequestLog().Where(r => r.Method == "POST" && r.Path.EndsWith("/action", StringComparison.Ordinal)).ToList();
        Assert.True(actions.Count == 6, string.Join("\n", actions.Select(a => $"{a.Method} {a.Path} {a.StatusCode}"))); // per server: lock, evacuate, unlock
        Assert.All((await api.ListRecordsAsync(new ListRecordsRequest())).Records, r => Assert.False(t.Sim.GetInstance(r.InstanceUuid)!.Locked));
    }
}
