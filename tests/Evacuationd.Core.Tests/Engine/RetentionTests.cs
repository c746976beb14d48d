using Evacuationd.Core.Compute;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>Retention keeps etcd's keys bounded: ended records go after Engine:Retention, nothing else does.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task OnlyEndedRecordsPastTheRetentionAreDeleted()
    {
        var time = new FakeTimeProvider(StoreRecords.Epoch);
        using var store = new InMemoryEvacuationStore(time);
        var host = await store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, default);
        var planner = await store.GrantLeaseAsync(StoreRecords.Daemon("planner"), TimeSpan.FromMinutes(5), default);
        var claim = await store.TryClaimHostAsync(planner, "compute-01", host.Revision, null, default);
        var old = StoreRecords.Instance("compute-01", "aaaa0001") with { State = RecordState.Done, UpdatedAt = StoreRecords.Epoch };
        var recent = StoreRecords.Instance("compute-01", "aaaa0002") with { State = RecordState.Skipped, UpdatedAt = StoreRecords.Epoch + TimeSpan.FromDays(6) };
        var running = StoreRecords.Instance("compute-01", "aaaa0003") with { State = RecordState.Rebuilding, UpdatedAt = StoreRecords.Epoch };
        var ended = claim.Record!.Value.MoveTo(HostState.Done, "fencing ended", StoreRecords.Epoch, "planner");
        await store.CommitPlanAsync(claim.Ownership!, ended, claim.Record.Revision, [old, recent, running], default);
        await store.RevokeLeaseAsync(planner, default);
        time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromHours(1));
        var options = new EngineOptions { DaemonId = "daemon-a", Retention = TimeSpan.FromDays(7), LeaseTtl = TimeSpan.FromHours(1), KeepAliveInterval = TimeSpan.FromMinutes(10), MaxConcurrentRecords = 1 };
        await using var daemon = new EvacuationDaemon(options, store, new NoCompute(), time, NullLoggerFactory.Instance);
        await daemon.StartAsync(default);
        await store.GetInstanceAsync(running.Id, default); // the daemon may claim it; it stays

        var deleted = await daemon.SweepExpiredAsync(default);

        Assert.Equal(1, deleted);
        Assert.Null(await store.GetInstanceAsync(old.Id, default));
        Assert.NotNull(await store.GetInstanceAsync(recent.Id, default));
        Assert.NotNull(await store.GetInstanceAsync(running.Id, default));
        Assert.NotNull(await store.GetHostAsync("compute-01", default));
    }

    [Fact]
    public async Task RecordsOfAFencingThatHasNotRecordedItsEndStay()
    {
        // Found by the bench's scale run (Retention 60 s): records deleted before their host
        // recorded its end left 88 of 500 hosts "evacuating" for ever.
        var time = new FakeTimeProvider(StoreRecords.Epoch);
        using var store = new InMemoryEvacuationStore(time);
        var planner = await store.GrantLeaseAsync(StoreRecords.Daemon("planner"), TimeSpan.FromMinutes(5), default);
        var records = new List<InstanceRecord>();
        // An ended record of an earlier fencing of compute-01 (generation 0), committed with the plan.
        var previous = StoreRecords.Instance("compute-01", "aaaa0002", generation: 0) with { State = RecordState.Done, UpdatedAt = StoreRecords.Epoch };
        foreach (var (name, state) in new[] { ("compute-01", HostState.Evacuating), ("compute-02", HostState.Done) })
        {
            var host = await store.PutHostIfAsync(StoreRecords.Host(name), 0, default);
            var claim = await store.TryClaimHostAsync(planner, name, host.Revision, null, default);
            var done = StoreRecords.Instance(name, "aaaa0001") with { State = RecordState.Done, UpdatedAt = StoreRecords.Epoch };
            records.Add(done);
            IReadOnlyList<InstanceRecord> planned = name == "compute-01" ? [done, previous] : [done];
            await store.CommitPlanAsync(claim.Ownership!, claim.Record!.Value.MoveTo(state, "test", StoreRecords.Epoch, "planner"), claim.Record.Revision, planned, default);
        }
        await store.RevokeLeaseAsync(planner, default);
        time.Advance(TimeSpan.FromDays(8));
        var options = new EngineOptions { DaemonId = "daemon-a", Retention = TimeSpan.FromDays(7), LeaseTtl = TimeSpan.FromHours(1), KeepAliveInterval = TimeSpan.FromMinutes(10), MaxConcurrentRecords = 1 };
        await using var daemon = new EvacuationDaemon(options, store, new NoCompute(), time, NullLoggerFactory.Instance);
        await daemon.StartAsync(default);

        var deleted = await daemon.SweepExpiredAsync(default);

        Assert.Equal(2, deleted);
        Assert.NotNull(await store.GetInstanceAsync(records[0].Id, default)); // compute-01 still evacuating
        Assert.Null(await store.GetInstanceAsync(records[1].Id, default));
        Assert.Null(await store.GetInstanceAsync(previous.Id, default)); // an earlier fencing of compute-01
    }

    /// <summary>A cloud nobody may call in this test: the sweep never talks to Nova.</summary>
    private sealed class NoCompute : IComputeClient
    {
        private static Task<T> Never<T>() => Task.FromException<T>(new ComputeException("test", "Nova is not reachable in this test", transient: true));
        public Task<ComputeService?> FindComputeServiceAsync(string host, CancellationToken ct) => Never<ComputeService?>();
        public Task<IReadOnlyList<ComputeService>> ListComputeServicesAsync(CancellationToken ct) => Never<IReadOnlyList<ComputeService>>();
        public Task<ComputeService> ForceDownAsync(ComputeService service, CancellationToken ct) => Never<ComputeService>();
        public Task<ComputeService> DisableAsync(ComputeService service, string reason, CancellationToken ct) => Never<ComputeService>();
        public Task<IReadOnlyList<ServerView>> ListServersOnHostAsync(string host, CancellationToken ct) => Never<IReadOnlyList<ServerView>>();
        public Task<ServerView?> GetServerAsync(string instanceUuid, CancellationToken ct) => Never<ServerView?>();
        public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsAsync(string instanceUuid, CancellationToken ct) => Never<IReadOnlyList<MigrationView>>();
        public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsFromHostAsync(string sourceHost, CancellationToken ct) => Never<IReadOnlyList<MigrationView>>();
        public Task<IReadOnlyList<ServerView>> ListServersChangedSinceAsync(DateTimeOffset since, CancellationToken ct) => Never<IReadOnlyList<ServerView>>();
        public Task<EvacuateOutcome> EvacuateAsync(string instanceUuid, string? targetHost, CancellationToken ct) => Never<EvacuateOutcome>();
        public Task<IReadOnlyDictionary<string, string>> GetImagePropertiesAsync(string imageId, CancellationToken ct) => Never<IReadOnlyDictionary<string, string>>();
        public Task<ComputeService> ReleaseServiceAsync(ComputeService service, bool enable, CancellationToken ct) => Never<ComputeService>();
        public Task LockAsync(string instanceUuid, string reason, CancellationToken ct) => Never<bool>();
        public Task UnlockAsync(string instanceUuid, CancellationToken ct) => Never<bool>();
        public Task ResetStateAsync(string instanceUuid, string state, CancellationToken ct) => Never<bool>();
    }
}
