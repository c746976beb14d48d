using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using Evacuationd.Simulator.Faults;
using RecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Tests;

/// <summary>
/// The whole engine against a Nova that misbehaves (evacsim's faults): unknown outcomes are
/// reconciled, never re-sent over a running evacuation (S4); failed rebuilds are retried;
/// everything ends (S5).
/// </summary>
public sealed class NovaFaultTests
{
    [Fact]
    public async Task AnEvacuateWhoseAnswerIsLostIsReconciledNotRepeated()
    {
        // Nova performs every evacuate but answers 500: the outcome is unknown to the daemon.
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 3, rebuild: TimeSpan.FromMilliseconds(300));
        t.Sim.SetFaults([new FaultSpec { Kind = FaultKinds.ServerErrorAfter, Path = "/action", Method = "POST" }], seed: 7);
        t.Sim.PowerOff("compute-01");

        await new Operator.OperatorClient(t.Channel).FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-01", TimeSpan.FromSeconds(60));

        var records = await t.Cloud.Store.ListInstancesAsync("compute-01", 0, CancellationToken.None);
        var stats = t.Sim.GetStats();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal(RecordState.Done, r.Value.State));
        Assert.All(records, r => Assert.Equal(1, stats.EvacuateCalls[r.Value.InstanceUuid]));
        Assert.Equal(0, stats.DuplicateEvacuations);
        Assert.True(stats.ApiErrorsInjected >= 3);
        // Each record says what happened: the outcome was unknown, then Nova's migration showed the call had reached it.
        Assert.All(records, r => Assert.Contains(r.Value.History, h => h.Reason.Contains("unknown", StringComparison.Ordinal)));
        Assert.All(records, r => Assert.Contains(r.Value.History, h => h.Reason.Contains("the call reached Nova", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task FailedRebuildsAreRetriedAfterBackoffAndEndDone()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 2, rebuild: TimeSpan.FromMilliseconds(300));
        t.Sim.SetFaults([new FaultSpec { Kind = FaultKinds.EvacuateError, P = 1 }], seed: 3);
        t.Sim.PowerOff("compute-02");
        await new Operator.OperatorClient(t.Channel).FenceHostAsync(new FenceHostRequest { Host = "compute-02", ConfirmPoweredOff = true });
        // Let the first attempts fail in Nova, then let Nova work again.
        await t.WaitForAsync(s => s.Instances.Count(v => v.Value.State == RecordState.Retrying) == 2, TimeSpan.FromSeconds(30));
        t.Sim.ClearFaults();

        await t.WaitForFencingEndAsync("compute-02", TimeSpan.FromSeconds(60));

        var records = await t.Cloud.Store.ListInstancesAsync("compute-02", 0, CancellationToken.None);
        var stats = t.Sim.GetStats();
        Assert.All(records, r =>
        {
            Assert.Equal(RecordState.Done, r.Value.State);
            Assert.Equal(2, r.Value.Attempt);
            Assert.Equal(2, stats.EvacuateCalls[r.Value.InstanceUuid]); // one per attempt, the first ended in error
            Assert.Contains(r.Value.History, h => h.To == "retrying");
        });
        Assert.Equal(0, stats.DuplicateEvacuations);
    }

    [Fact]
    public async Task WhenNovaNeverFindsAHostEveryRecordEndsFailedWithTheReason()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 1, rebuild: TimeSpan.FromMilliseconds(200));
        t.Sim.SetFaults([new FaultSpec { Kind = FaultKinds.NoValidHost, P = 1 }], seed: 5);
        t.Sim.PowerOff("compute-03");

        await new Operator.OperatorClient(t.Channel).FenceHostAsync(new FenceHostRequest { Host = "compute-03", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-03", TimeSpan.FromSeconds(60));

        var record = Assert.Single(await t.Cloud.Store.ListInstancesAsync("compute-03", 0, CancellationToken.None)).Value;
        Assert.Equal(RecordState.Failed, record.State);
        Assert.Equal(3, record.Attempt);
        Assert.Contains("No valid host", record.Reason, StringComparison.Ordinal);
        Assert.Contains("all 3 attempts used", record.Reason, StringComparison.Ordinal);
        var host = (await t.Cloud.Store.GetHostAsync("compute-03", CancellationToken.None))!.Value;
        Assert.Equal(Core.Records.HostState.Failed, host.State);
        Assert.Equal(3, t.Sim.GetStats().EvacuateCalls[record.InstanceUuid]);
    }
}
