using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace Evacuationd.Server.Tests;

/// <summary>The operator's read surface over real gRPC against a real (embedded) evacuation.</summary>
public sealed class OperatorApiTests
{
    [Fact]
    public async Task AfterAFenceTheRecordsHostsAndDaemonsTellTheWholeStory()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 4, populate: c => c.AddInstance("compute-01", "vm-paused", "paused"));
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.PowerOff("compute-01");

        var fenced = await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true, Reason = "test" });
        await t.WaitForFencingEndAsync("compute-01");

        Assert.Equal(FenceOutcome.Created, fenced.Outcome);
        var records = (await api.ListRecordsAsync(new ListRecordsRequest { Host = "compute-01" })).Records;
        Assert.Equal(5, records.Count);
        Assert.Equal(4, records.Count(r => r.State == RecordState.Done));
        var skipped = Assert.Single(records, r => r.State == RecordState.Skipped);
        Assert.Equal("vm-paused", skipped.InstanceName);
        Assert.All(records.Where(r => r.State == RecordState.Done), r =>
        {
            Assert.NotEqual("compute-01", r.DestinationHost);
            Assert.Equal(1U, r.Attempt);
            Assert.Equal(3U, r.MaxAttempts);
            Assert.StartsWith("req-", r.AttemptRequestId, StringComparison.Ordinal);
            // accepted -> evacuating -> rebuilding -> done, each with a reason and a daemon.
            Assert.Equal(["accepted", "evacuating", "rebuilding", "done"], r.History.Select(h => h.To));
            Assert.All(r.History, h => Assert.False(string.IsNullOrEmpty(h.Reason)));
            Assert.All(r.History, h => Assert.StartsWith("daemon-", h.Daemon, StringComparison.Ordinal));
        });

        var byUuid = await api.GetRecordAsync(new GetRecordRequest { Id = records[0].InstanceUuid });
        Assert.Equal(records[0].Id, byUuid.Id);
        var byId = await api.GetRecordAsync(new GetRecordRequest { Id = records[1].Id });
        Assert.Equal(records[1].InstanceUuid, byId.InstanceUuid);

        var hosts = (await api.ListHostsAsync(new ListHostsRequest())).Hosts;
        var host = Assert.Single(hosts);
        Assert.Equal(HostState.Done, host.State);
        Assert.Equal(5U, host.Counts.Total);
        Assert.Equal(4U, host.Counts.Done);
        Assert.Equal(1U, host.Counts.Skipped);
        Assert.True(host.ForcedDown);
        Assert.Equal(["planning", "evacuating", "done"], host.History.Select(h => h.To));

        var daemons = (await api.ListDaemonsAsync(new ListDaemonsRequest())).Daemons;
        Assert.Equal(["daemon-1", "daemon-2"], daemons.Select(d => d.Id));
        Assert.All(daemons, d => Assert.NotEqual(0, d.LeaseId));
    }

    [Fact]
    public async Task RecordsPageAndFilter()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1, instancesPerHost: 5);
        var api = new Operator.OperatorClient(t.Channel);
        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-02", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-02");

        var first = await api.ListRecordsAsync(new ListRecordsRequest { PageSize = 2 });
        var second = await api.ListRecordsAsync(new ListRecordsRequest { PageSize = 2, PageToken = first.NextPageToken });
        var third = await api.ListRecordsAsync(new ListRecordsRequest { PageSize = 2, PageToken = second.NextPageToken });
        var doneOnly = await api.ListRecordsAsync(new ListRecordsRequest { State = RecordState.Done });
        var failedOnly = await api.ListRecordsAsync(new ListRecordsRequest { State = RecordState.Failed });
        var otherHost = await api.ListRecordsAsync(new ListRecordsRequest { Host = "compute-03" });

        Assert.Equal(2, first.Records.Count);
        Assert.Equal(2, second.Records.Count);
        Assert.Single(third.Records);
        Assert.Equal("", third.NextPageToken);
        Assert.Equal(5, first.Records.Concat(second.Records).Concat(third.Records).Select(r => r.Id).Distinct().Count());
        Assert.Equal(5, doneOnly.Records.Count);
        Assert.Empty(failedOnly.Records);
        Assert.Empty(otherHost.Records);
        var bad = await Assert.ThrowsAsync<RpcException>(() => api.ListRecordsAsync(new ListRecordsRequest { PageToken = "xyz" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => api.GetRecordAsync(new GetRecordRequest { Id = "compute-09:1:deadbeef" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("compute-09:1:deadbeef", unknown.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchUntilDoneStreamsASnapshotThenEveryChangeAndEnds()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 3);
        var api = new Operator.OperatorClient(t.Channel);
        using var call = api.WatchRecords(new WatchRecordsRequest { Host = "compute-01", UntilDone = true });
        var events = new List<RecordEvent>();
        var snapshotEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync())
            {
                events.Add(e);
                if (e.Kind == RecordEvent.Types.Kind.SnapshotEnd)
                {
                    snapshotEnded.TrySetResult();
                }
            }
        });

        // Fence only once the watch stands (its snapshot ended), or a slow start sees the records in its snapshot.
        await snapshotEnded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        await reader.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(RecordEvent.Types.Kind.SnapshotEnd, events[0].Kind); // nothing fenced yet at the start
        var last = events.Where(e => e.Record is not null).GroupBy(e => e.Record.Id).Select(g => g.Last().Record).ToList();
        Assert.Equal(3, last.Count);
        Assert.All(last, r => Assert.Equal(RecordState.Done, r.State));
        Assert.Contains(events, e => e.Kind == RecordEvent.Types.Kind.Host && e.Host.State == HostState.Done);
        Assert.Contains(events, e => e.Record?.State == RecordState.Rebuilding);
    }

    [Fact]
    public async Task HealthAnswersServingAndReflectionListsTheServices()
    {
        await using var t = await TestCloud.StartAsync(daemons: 1);

        var health = await new Health.HealthClient(t.Channel).CheckAsync(new HealthCheckRequest());
        using var reflection = new ServerReflection.ServerReflectionClient(t.Channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains("evacuationd.v1.Fencing", services);
        Assert.Contains("evacuationd.v1.Operator", services);
        Assert.Contains("evacuationd.v1.Agent", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }
}
