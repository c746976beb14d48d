using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using Grpc.Core;

namespace Evacuationd.Server.Tests;

/// <summary>evacuationd.v1.Agent over real gRPC on an embedded cloud: check-in, guard, gate, self-checks, release (S7).</summary>
public sealed class AgentApiTests
{
    [Fact]
    public async Task AHostNeverFencedHasNothingToGuardAndItsGateIsOpen()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var agent = new Agent.AgentClient(t.Channel);

        var checkIn = await agent.CheckInAsync(new CheckInRequest { Host = "compute-02" });
        var gate = await agent.GetStartGateAsync(new StartGateRequest { Host = "compute-02", GuardClean = false });

        Assert.Null(checkIn.Host);
        Assert.Empty(checkIn.EvacuatedAway);
        Assert.True(gate.MayStart);
        Assert.Contains("never been fenced", gate.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterTheEvacuationCheckInNamesEveryEvacuatedInstanceAndTheGateWaitsForACleanGuard()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 3);
        var agent = new Agent.AgentClient(t.Channel);
        var onHost = t.Sim.ListInstances().Where(i => i.Host == "compute-01").Select(i => i.Id).Order(StringComparer.Ordinal).ToList();
        await FenceAndWaitForTheEndAsync(t, "compute-01");

        var checkIn = await agent.CheckInAsync(new CheckInRequest { Host = "compute-01" });
        var notClean = await agent.GetStartGateAsync(new StartGateRequest { Host = "compute-01", GuardClean = false });
        var clean = await agent.GetStartGateAsync(new StartGateRequest { Host = "compute-01", GuardClean = true });

        Assert.Equal(HostState.Done, checkIn.Host.State);
        Assert.Equal(onHost, checkIn.EvacuatedAway.Select(e => e.InstanceUuid).ToList());
        Assert.All(checkIn.EvacuatedAway, e =>
        {
            Assert.Equal(1UL, e.FenceGeneration);
            Assert.NotEqual("", e.DestinationHost);
            Assert.NotEqual("compute-01", e.DestinationHost);
        });
        Assert.False(notClean.MayStart);
        Assert.Contains("guard", notClean.Reason, StringComparison.Ordinal);
        Assert.True(clean.MayStart);
    }

    [Fact]
    public async Task TheGateStaysClosedWhileAnyRecordHasNotEnded()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 2, rebuild: TimeSpan.FromSeconds(60));
        var agent = new Agent.AgentClient(t.Channel);
        await FenceAsync(t, "compute-03");
        await t.WaitForAsync(s => s.Instances.Count(r => r.Value.SourceHost == "compute-03" && r.Value.State == Core.Records.RecordState.Rebuilding) == 2, TimeSpan.FromSeconds(30));

        var gate = await agent.GetStartGateAsync(new StartGateRequest { Host = "compute-03", GuardClean = true });
        var checkIn = await agent.CheckInAsync(new CheckInRequest { Host = "compute-03" });

        Assert.False(gate.MayStart);
        Assert.Equal(2U, gate.PendingRecords);
        Assert.Contains("must not start", gate.Reason, StringComparison.Ordinal);
        Assert.Equal(2, checkIn.EvacuatedAway.Count); // rebuilding elsewhere: must not run here
    }

    [Fact]
    public async Task AGuardReportIsNotedOnTheHostsHistory()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 1);
        var agent = new Agent.AgentClient(t.Channel);
        await FenceAndWaitForTheEndAsync(t, "compute-02");
        var uuid = (await agent.CheckInAsync(new CheckInRequest { Host = "compute-02" })).EvacuatedAway.Single().InstanceUuid;

        await agent.ReportGuardAsync(new ReportGuardRequest
        {
            Host = "compute-02",
            Clean = true,
            Actions = { new Contracts.V1.GuardAction { InstanceUuid = uuid, Action = "destroyed", Ok = true, Detail = "virsh destroy" } },
        });

        var host = await t.Cloud.Store.GetHostAsync("compute-02", CancellationToken.None);
        Assert.Contains(host!.Value.History, h => h.Reason.Contains($"destroyed {uuid}: ok", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AGuardThatStaysUncleanIsNotedOnceNotEveryRound()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 1);
        var agent = new Agent.AgentClient(t.Channel);
        await FenceAndWaitForTheEndAsync(t, "compute-02");
        var uuid = (await agent.CheckInAsync(new CheckInRequest { Host = "compute-02" })).EvacuatedAway.Single().InstanceUuid;
        var failing = new ReportGuardRequest
        {
            Host = "compute-02",
            Clean = false,
            Actions = { new Contracts.V1.GuardAction { InstanceUuid = uuid, Action = "destroy-failed", Ok = false, Detail = "virsh: timed out" } },
        };
        var before = (await t.Cloud.Store.GetHostAsync("compute-02", CancellationToken.None))!.Value.History.Count;

        for (var round = 0; round < 3; round++)
        {
            await agent.ReportGuardAsync(failing);
        }

        var history = (await t.Cloud.Store.GetHostAsync("compute-02", CancellationToken.None))!.Value.History;
        Assert.Equal(before + 1, history.Count);
        Assert.Contains("is NOT clean", history[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepeatedFailedSelfChecksDisableTheServiceButNeverFenceOrEvacuate()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, configure: e => e.Policy.DisableAfterFailedSelfChecks = 2);
        var agent = new Agent.AgentClient(t.Channel);
        var failing = new ReportSelfChecksRequest { Host = "compute-01", Results = { new SelfCheckResult { Name = "libvirt", Ok = false, Output = "virsh: cannot connect" } } };

        var first = await agent.ReportSelfChecksAsync(failing);
        var second = await agent.ReportSelfChecksAsync(failing);
        var healthy = await agent.ReportSelfChecksAsync(new ReportSelfChecksRequest { Host = "compute-01", Results = { new SelfCheckResult { Name = "libvirt", Ok = true } } });

        Assert.False(first.ServiceDisabled);
        Assert.Contains("1 report(s) in a row", first.Message, StringComparison.Ordinal);
        Assert.True(second.ServiceDisabled);
        Assert.Contains("disabled", second.Message, StringComparison.Ordinal);
        Assert.True(healthy.ServiceDisabled); // stays disabled until an operator enables it
        var service = t.Sim.GetHosts().Single(h => h.Name == "compute-01");
        Assert.Equal("disabled", service.Status);
        Assert.False(service.ForcedDown);
        Assert.Null(await t.Cloud.Store.GetHostAsync("compute-01", CancellationToken.None));
        Assert.Equal(0, t.Sim.GetStats().EvacuateCallsTotal);
    }

    [Fact]
    public async Task ASelfCheckWithoutANameIsRefusedNamingTheProblem()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var agent = new Agent.AgentClient(t.Channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.ReportSelfChecksAsync(new ReportSelfChecksRequest { Host = "compute-01", Results = { new SelfCheckResult { Ok = true } } }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("no name", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReleaseBeforeTheEvacuationEndedIsRefusedAndAfterNovaCleanedUpItReturnsTheHost()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 2, rebuild: TimeSpan.FromMilliseconds(200));
        var agent = new Agent.AgentClient(t.Channel);
        await FenceAsync(t, "compute-03");
        var early = await Assert.ThrowsAsync<RpcException>(async () => await agent.RequestReleaseAsync(new RequestReleaseRequest { Host = "compute-03" }));
        await t.WaitForFencingEndAsync("compute-03");

        t.Sim.PowerOn("compute-03"); // nova-compute restarts and cleans up: done migrations become completed
        var released = await agent.RequestReleaseAsync(new RequestReleaseRequest { Host = "compute-03", Reason = "gate opened, nova-compute up" });
        var checkIn = await agent.CheckInAsync(new CheckInRequest { Host = "compute-03" });

        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);
        Assert.Equal(HostState.Released, released.State);
        Assert.Contains("gate opened", released.History.Last().Reason, StringComparison.Ordinal);
        var service = t.Sim.GetHosts().Single(h => h.Name == "compute-03");
        Assert.False(service.ForcedDown);
        Assert.Equal("enabled", service.Status);
        Assert.Empty(checkIn.EvacuatedAway); // released: instances may come back here legitimately
    }

    [Fact]
    public async Task AReleaseOfAHostNeverFencedIsNotFound()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var agent = new Agent.AgentClient(t.Channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await agent.RequestReleaseAsync(new RequestReleaseRequest { Host = "compute-02" }));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    /// <summary>The host loses power and its fencing is reported, as Pacemaker's agent would.</summary>
    private static async Task FenceAsync(TestCloud t, string host)
    {
        t.Sim.PowerOff(host);
        await new Fencing.FencingClient(t.Channel).ReportFencedAsync(new ReportFencedRequest { Host = host });
    }

    private static async Task FenceAndWaitForTheEndAsync(TestCloud t, string host)
    {
        await FenceAsync(t, host);
        await t.WaitForFencingEndAsync(host);
    }
}
