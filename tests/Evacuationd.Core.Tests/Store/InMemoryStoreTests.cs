using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Core.Tests.Store;

/// <summary>What only the in-memory store does: its own clock-driven expiry and its bounded watch history.</summary>
public sealed class InMemoryStoreTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly FakeTimeProvider _time = new(StoreRecords.Epoch);
    private readonly InMemoryEvacuationStore _store;

    public InMemoryStoreTests() => _store = new InMemoryEvacuationStore(_time, historyLimit: 4);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task LeaseExpiresOnTheClockAloneAndWatchersHearOfIt()
    {
        var from = _store.Revision;
        await using var watch = WatchRecorder.Start(_store, from);
        var lease = await _store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(5), None);
        Assert.Equal(ChangeKind.DaemonPut, (await watch.NextAsync()).Kind);

        _time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.False(watch.TryTake(out _));
        _time.Advance(TimeSpan.FromMilliseconds(1)); // no store call: the store's own timer drops the lease

        var gone = await watch.NextAsync();
        Assert.Equal((ChangeKind.DaemonDeleted, "daemon-a", lease.LeaseId), (gone.Kind, gone.Daemon!.Id, gone.Daemon.LeaseId));
    }

    [Fact]
    public async Task KeepAliveMovesTheExpiryForward()
    {
        var lease = await _store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.FromSeconds(5), None);
        _time.Advance(TimeSpan.FromSeconds(3));

        var renewed = await _store.KeepAliveAsync(lease, None);

        Assert.Equal(new KeepAliveResult(true, TimeSpan.FromSeconds(5)), renewed);
        var d = Assert.Single(await _store.ListDaemonsAsync(None));
        Assert.Equal(StoreRecords.Epoch.AddSeconds(8), d.LeaseExpiresAt);
        _time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.Single(await _store.ListDaemonsAsync(None));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Empty(await _store.ListDaemonsAsync(None));
    }

    [Fact]
    public async Task WatchHistoryBeyondTheLimitIsCompacted()
    {
        var first = await _store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        for (var i = 2; i <= 6; i++)
        {
            await _store.PutHostIfAsync(StoreRecords.Host($"compute-0{i}"), 0, None);
        }

        await using var old = WatchRecorder.Start(_store, first.Revision);
        await Assert.ThrowsAsync<WatchCompactedException>(() => old.NextAsync());

        await using var recent = WatchRecorder.Start(_store, _store.Revision - 2);
        Assert.Equal("compute-05", (await recent.NextAsync()).Host!.Value.Name);
        Assert.Equal("compute-06", (await recent.NextAsync()).Host!.Value.Name);
    }

    [Fact]
    public async Task NonPositiveTtlIsRefused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), TimeSpan.Zero, None));
    }

    [Fact]
    public async Task DisposingTheStoreEndsItsWatches()
    {
        var watch = WatchRecorder.Start(_store, 0);
        await _store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        Assert.Equal(ChangeKind.HostPut, (await watch.NextAsync()).Kind);

        _store.Dispose();

        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => watch.NextAsync());
        await watch.DisposeAsync();
    }
}
