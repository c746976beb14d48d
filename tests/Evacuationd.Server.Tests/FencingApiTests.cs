using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Evacuationd.Server.Tests;

/// <summary>Fencing.ReportFenced and Operator.FenceHost over real gRPC: S1 and S2 at the API.</summary>
public sealed class FencingApiTests
{
    [Fact]
    public async Task ReportFencedAnswersOnlyAfterTheHostRecordIsCommitted()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        t.Sim.PowerOff("compute-01");
        var client = new Fencing.FencingClient(t.Channel);

        var reply = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-01", EventId = "ev-1", Reporter = "pcmk-1" });

        Assert.Equal(FenceOutcome.Created, reply.Outcome);
        Assert.Equal("compute-01:1", reply.EvacuationId);
        Assert.Equal(1UL, reply.FenceGeneration);
        // S2: the store has it the moment the answer arrives.
        var stored = await t.Cloud.Store.GetHostAsync("compute-01", CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(1, stored.Value.FenceGeneration);
        Assert.Equal("ev-1", stored.Value.EventId);
        Assert.Equal("pcmk-1", stored.Value.Reporter);
    }

    [Fact]
    public async Task ARepeatedReportReturnsTheSameEvacuationAndCreatesNothing()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, rebuild: TimeSpan.FromSeconds(30));
        var client = new Fencing.FencingClient(t.Channel);
        var first = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-02", EventId = "ev-7" });

        var sameEvent = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-02", EventId = "ev-7" });
        var otherEventWhileRunning = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-02", EventId = "ev-8" });
        var sameGeneration = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-02", FenceGeneration = 1 });

        Assert.Equal(FenceOutcome.Created, first.Outcome);
        foreach (var r in new[] { sameEvent, otherEventWhileRunning, sameGeneration })
        {
            Assert.Equal(FenceOutcome.Duplicate, r.Outcome);
            Assert.Equal(first.EvacuationId, r.EvacuationId);
        }
        var host = await t.Cloud.Store.GetHostAsync("compute-02", CancellationToken.None);
        Assert.Equal(1, host!.Value.FenceGeneration);
        Assert.Equal("ev-7", host.Value.EventId);
    }

    [Fact]
    public async Task AReportNamingAnOlderGenerationIsStale()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var client = new Fencing.FencingClient(t.Channel);
        // Generation 1 fails in planning (Nova has no such host); a new report then opens generation 2.
        await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-77" });
        await t.WaitForFencingEndAsync("compute-77");
        var second = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-77", EventId = "ev-2" });

        var stale = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-77", FenceGeneration = 1 });

        Assert.Equal(FenceOutcome.Created, second.Outcome);
        Assert.Equal("compute-77:2", second.EvacuationId);
        Assert.Equal(FenceOutcome.Stale, stale.Outcome);
        Assert.Equal("compute-77:2", stale.EvacuationId);
        Assert.Contains("older", stale.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await t.Cloud.Store.GetHostAsync("compute-77", CancellationToken.None))!.Value.FenceGeneration);
    }

    [Fact]
    public async Task APowerOnIsRecordedOnTheFencingAndChangesNothingElse()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var client = new Fencing.FencingClient(t.Channel);
        t.Sim.PowerOff("compute-01");
        await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-01" });

        var on = await client.ReportPoweredOnAsync(new ReportPoweredOnRequest { Host = "compute-01", Reporter = "pcmk-1" });
        var never = await client.ReportPoweredOnAsync(new ReportPoweredOnRequest { Host = "compute-03" });
        await t.WaitForFencingEndAsync("compute-01");

        Assert.Contains("power-on of compute-01 recorded", on.Message, StringComparison.Ordinal);
        Assert.Contains("never fenced", never.Message, StringComparison.Ordinal);
        var host = (await t.Cloud.Store.GetHostAsync("compute-01", CancellationToken.None))!.Value;
        Assert.NotNull(host.PoweredOnAt);
        Assert.Contains(host.History, h => h.Reason.Contains("powered on again (reported by pcmk-1)", StringComparison.Ordinal));
        Assert.Equal(Core.Records.HostState.Done, host.State); // the evacuation went on regardless
        Assert.Null(await t.Cloud.Store.GetHostAsync("compute-03", CancellationToken.None));
    }

    [Fact]
    public async Task CheckSaysWhoTheCallerIsWhetherFencesCanBeRecordedAndWhichHostsNovaHas()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var client = new Fencing.FencingClient(t.Channel);

        var bare = await client.CheckAsync(new CheckRequest());
        var withHosts = await client.CheckAsync(new CheckRequest { IncludeHosts = true });

        Assert.Equal("operator", bare.Role); // the plaintext loopback (development) caller
        Assert.Contains("development caller", bare.Caller, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(bare.DaemonId));
        Assert.True(bare.Ready);
        Assert.Empty(bare.Hosts);
        Assert.True(withHosts.HostsKnown);
        Assert.Equal(t.Sim.GetHosts().Select(h => h.Name).Order(StringComparer.Ordinal), withHosts.Hosts);
        Assert.Null(await t.Cloud.Store.GetHostAsync("compute-01", CancellationToken.None)); // changed nothing
    }

    [Theory]
    [InlineData("", "host is required")]
    [InlineData("bad host", "is not a valid compute host name")]
    [InlineData("-leading-dash", "is not a valid compute host name")]
    public async Task BadHostNamesAreRefusedWithAMessageNamingTheField(string host, string expected)
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var client = new Fencing.FencingClient(t.Channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.ReportFencedAsync(new ReportFencedRequest { Host = host }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(expected, ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await t.Cloud.Store.ListHostsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AnOperatorReportWithoutConfirmationIsRefused()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var fencing = new Fencing.FencingClient(t.Channel);
        var operatorApi = new Operator.OperatorClient(t.Channel);

        var viaFencing = await Assert.ThrowsAsync<RpcException>(() => fencing.ReportFencedAsync(new ReportFencedRequest
        {
            Host = "compute-01",
            Source = Contracts.V1.FenceSource.Operator,
            FencedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }).ResponseAsync);
        var viaOperator = await Assert.ThrowsAsync<RpcException>(() => operatorApi.FenceHostAsync(new FenceHostRequest { Host = "compute-01" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, viaFencing.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, viaOperator.StatusCode);
        Assert.Contains("confirm_powered_off", viaOperator.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await t.Cloud.Store.ListHostsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AnOperatorFenceOfAHostNovaDoesNotKnowRecordsNothing()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);
        var operatorApi = new Operator.OperatorClient(t.Channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => operatorApi.FenceHostAsync(new FenceHostRequest { Host = "compute-99", ConfirmPoweredOff = true }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("compute-99", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await t.Cloud.Store.ListHostsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AFenceAgentReportForAnUnknownHostIsKeptAndEndsFailedWithTheReason()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2);
        var client = new Fencing.FencingClient(t.Channel);

        var reply = await client.ReportFencedAsync(new ReportFencedRequest { Host = "compute-77" });
        await t.WaitForFencingEndAsync("compute-77");

        Assert.Equal(FenceOutcome.Created, reply.Outcome);
        var host = (await t.Cloud.Store.GetHostAsync("compute-77", CancellationToken.None))!.Value;
        Assert.Equal(Core.Records.HostState.Failed, host.State);
        Assert.Contains("no nova-compute service on host 'compute-77'", host.Reason, StringComparison.Ordinal);
        Assert.Empty(await t.Cloud.Store.ListInstancesAsync("compute-77", 0, CancellationToken.None));
    }
}
