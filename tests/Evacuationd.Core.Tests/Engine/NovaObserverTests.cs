using Evacuationd.Core.Compute;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>
/// The batched Nova observation: one fetch per fenced host serves every record that asked
/// before it started, and never one that asked after (S4's resume rule depends on it).
/// </summary>
public sealed class NovaObserverTests
{
    private const string Host = "compute-01";
    private static readonly string[] Abcd = ["a", "b", "c", "d"];
    private readonly FakeTimeProvider _time = new(StoreRecords.Epoch + TimeSpan.FromHours(3));
    private readonly ScriptedNova _nova = new();

    /// <summary>The record of instance <paramref name="uuid"/> (a short name here, as in the fake Nova).</summary>
    private InstanceRecord Record(string uuid) => StoreRecords.Instance(Host, uuid) with { InstanceUuid = uuid, CreatedAt = _time.GetUtcNow() };

    [Fact]
    public async Task RecordsAskingWhileAFetchRunsShareTheNextFetch()
    {
        var observer = new NovaObserver(_nova, _time);
        foreach (var uuid in Abcd)
        {
            _nova.Put(uuid, Host);
        }
        var hold = _nova.HoldNextHostListing();

        var first = observer.ObserveAsync(Record("a"), default);
        await hold.Entered;
        var rest = Abcd.Skip(1).Select(u => observer.ObserveAsync(Record(u), default)).ToList();
        hold.Release();
        var all = await Task.WhenAll(rest.Prepend(first));

        Assert.Equal(["a", "b", "c", "d"], all.Select(o => o.Server!.Id));
        Assert.Equal(2, _nova.Count("list_servers_on_host"));
        Assert.Equal(2, _nova.Count("list_host_migrations"));
        Assert.Equal(0, _nova.Count("get_server"));
        Assert.Equal(0, _nova.Count("changes_since"));
    }

    [Fact]
    public async Task RecordsAskingWithinTheGatherTimeShareTheFirstFetch()
    {
        var observer = new NovaObserver(_nova, _time, TimeSpan.FromMilliseconds(30));
        foreach (var uuid in Abcd)
        {
            _nova.Put(uuid, Host);
        }

        var asked = Abcd.Select(u => observer.ObserveAsync(Record(u), default)).ToList();
        var before = _nova.Count("list_servers_on_host");
        _time.Advance(TimeSpan.FromMilliseconds(30));
        var seen = await Task.WhenAll(asked);

        Assert.Equal(0, before); // nothing fetched before the gather time passed
        Assert.Equal(Abcd, seen.Select(o => o.Server!.Id));
        Assert.Equal(1, _nova.Count("list_servers_on_host"));
        Assert.Equal(1, _nova.Count("list_host_migrations"));
    }

    [Fact]
    public async Task ARecordAskingAfterAFetchStartedSeesWhatNovaDidMeanwhile()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.Put("b", Host);
        var hold = _nova.HoldNextMigrationListing();

        var first = observer.ObserveAsync(Record("a"), default);
        await hold.Entered; // the first fetch has read the migrations as they were: none
        var second = observer.ObserveAsync(Record("b"), default);
        _nova.AddMigration("b", id: 7, "accepted"); // an evacuate call for b reached Nova now
        hold.Release();

        Assert.Empty((await first).Migrations);
        var b = await second;
        Assert.Equal(7, Assert.Single(b.Migrations).Id);
    }

    [Fact]
    public async Task ServersMovedOffTheHostAreFoundByChangesSinceThenOneByOne()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", "compute-02", changed: true);
        _nova.Put("b", "compute-03", changed: true);
        _nova.Put("c", "compute-02", changed: true);
        _nova.Put("d", "compute-04", changed: false); // moved before the window
        var records = Abcd.Append("gone").Select(Record).ToList();

        var seen = await AskTogetherAsync(observer, records);

        Assert.Equal(["compute-02", "compute-03", "compute-02", "compute-04"], seen.Take(4).Select(o => o.Server!.Host));
        Assert.Null(seen[4].Server);
        Assert.Equal(1, _nova.Count("changes_since"));
        Assert.Equal(_time.GetUtcNow() - NovaObserver.ChangesSinceMargin, _nova.LastSince);
        Assert.Equal(["d", "gone"], _nova.SingleReads.Order());
    }

    [Fact]
    public async Task AfterAChangesSinceListingFarLargerThanWhatItFoundMovedServersAreReadOneByOneForAWhile()
    {
        var observer = new NovaObserver(_nova, _time);
        foreach (var uuid in Abcd)
        {
            _nova.Put(uuid, "compute-02", changed: true);
        }
        for (var i = 0; i < NovaObserver.ChangesSinceWasteFactor * 4 + 100; i++)
        {
            _nova.Put($"other-{i}", "compute-09", changed: true); // the rest of a busy cloud
        }

        await AskTogetherAsync(observer, Abcd.Select(Record));
        var singlesBefore = _nova.SingleReads.Count;
        await AskTogetherAsync(observer, Abcd.Select(Record));
        var singlesDuring = _nova.SingleReads.Count - singlesBefore;
        _time.Advance(NovaObserver.SinglesAfterWaste);
        await AskTogetherAsync(observer, Abcd.Select(Record));

        Assert.Equal(0, singlesBefore);
        Assert.Equal(4, singlesDuring); // one by one, no listing
        Assert.Equal(2, _nova.Count("changes_since")); // the first fetch, and again after the pause
    }

    [Fact]
    public async Task AFewMissingServersAreReadOneByOneWithoutChangesSince()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.Put("b", "compute-02", changed: true);

        var seen = await AskTogetherAsync(observer, [Record("a"), Record("b")]);

        Assert.Equal([Host, "compute-02"], seen.Select(o => o.Server!.Host));
        Assert.Equal(0, _nova.Count("changes_since"));
        Assert.Equal(["b"], _nova.SingleReads);
    }

    [Fact]
    public async Task EachRecordGetsOnlyItsOwnMigrationsNewestFirst()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.Put("b", Host);
        _nova.AddMigration("a", id: 3, "error");
        _nova.AddMigration("b", id: 4, "done");
        _nova.AddMigration("a", id: 9, "accepted");

        var seen = await AskTogetherAsync(observer, [Record("a"), Record("b")]);

        Assert.Equal([9L, 3L], seen[0].Migrations.Select(m => m.Id));
        Assert.Equal(9, seen[0].NewestMigrationId);
        Assert.Equal([4L], seen[1].Migrations.Select(m => m.Id));
    }

    [Fact]
    public async Task AFailedFetchReachesItsRecordsAndTheNextAskFetchesAgain()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.FailNext = new ComputeException("list the host's servers", "Nova answered 503", transient: true);

        var failed = await Assert.ThrowsAsync<ComputeException>(() => observer.ObserveAsync(Record("a"), default));
        var again = await observer.ObserveAsync(Record("a"), default);

        Assert.Contains("503", failed.Message);
        Assert.Equal(Host, again.Server!.Host);
        Assert.Equal(2, _nova.Count("list_servers_on_host"));
    }

    [Fact]
    public async Task ARecordStopsWaitingWhenItsTokenIsCancelled()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        var hold = _nova.HoldNextHostListing();
        using var lost = new CancellationTokenSource();

        var waiting = observer.ObserveAsync(Record("a"), lost.Token);
        await hold.Entered;
        await lost.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        hold.Release();
    }

    private static ServerView OnHost(string uuid) => new() { Id = uuid, Host = Host, Status = "ACTIVE", VmState = "active" };

    private static MigrationView Migration(string uuid, long id, string status) =>
        new(id, status, Host, null, StoreRecords.Epoch, null) { InstanceUuid = uuid };

    [Fact]
    public async Task APlansReadsServeItsFreshRecordsFirstLookOnceWithoutAFetch()
    {
        var observer = new NovaObserver(_nova, _time);
        var (a, b) = (Record("a"), Record("b"));
        _nova.Put("a", "compute-02"); // what a fetch would show now: moved (by someone else)
        _nova.Put("b", Host);
        observer.Seed(Host, _time.GetUtcNow(), [OnHost("a"), OnHost("b")], [Migration("b", 4, "error")], [a, b]);

        var first = await observer.ObserveAsync(a, default);
        var firstB = await observer.ObserveAsync(b, default);
        var again = await observer.ObserveAsync(a, default);

        Assert.Equal(Host, first.Server!.Host); // the plan's picture
        Assert.Equal([4L], firstB.Migrations.Select(m => m.Id));
        Assert.Equal("compute-02", again.Server!.Host); // served once: the second look fetched
        Assert.Equal(1, _nova.Count("list_servers_on_host"));
    }

    [Fact]
    public async Task ARecordWithAnAttemptOrPastTheSeedLifetimeIsNotServedByThePlansReads()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.Put("b", Host);
        _nova.AddMigration("a", id: 9, "accepted"); // attempt 1's call reached Nova
        var attempted = Record("a") with { Attempt = 1, State = RecordState.Evacuating };
        var late = Record("b");
        observer.Seed(Host, _time.GetUtcNow(), [OnHost("a"), OnHost("b")], [], [Record("a"), late]);

        var seenAttempted = await observer.ObserveAsync(attempted, default);
        _time.Advance(NovaObserver.SeedLifetime);
        var seenLate = await observer.ObserveAsync(late, default);

        Assert.Equal([9L], seenAttempted.Migrations.Select(m => m.Id)); // read from Nova, not the plan
        Assert.NotNull(seenLate.Server);
        Assert.Equal(2, _nova.Count("list_servers_on_host"));
    }

    [Fact]
    public async Task ARecordOfAnotherHostOrNotInThePlansListingIsNotServedByIt()
    {
        var observer = new NovaObserver(_nova, _time);
        _nova.Put("a", Host);
        _nova.Put("c", Host);
        var elsewhere = Record("c") with { SourceHost = "compute-09" };
        observer.Seed(Host, _time.GetUtcNow(), [OnHost("c")], [], [Record("a"), elsewhere]);

        var a = await observer.ObserveAsync(Record("a"), default); // not in the plan's listing
        var c = await observer.ObserveAsync(elsewhere, default);

        Assert.NotNull(a.Server);
        Assert.NotNull(c.Server);
        Assert.Equal(2, _nova.Count("list_servers_on_host"));
    }

    /// <summary>
    /// Asks for all <paramref name="records"/> while a fetch for another record ("x", on the
    /// host) is held, so that they form one batch: the next fetch.
    /// </summary>
    private async Task<InstanceObservation[]> AskTogetherAsync(NovaObserver observer, IEnumerable<InstanceRecord> records)
    {
        _nova.Put("x", Host);
        var hold = _nova.HoldNextHostListing();
        var first = observer.ObserveAsync(Record("x"), default);
        await hold.Entered;
        var asked = records.Select(r => observer.ObserveAsync(r, default)).ToList();
        hold.Release();
        await first;
        return await Task.WhenAll(asked);
    }

    /// <summary>Nova as a table, with gates to hold a fetch in the middle.</summary>
    private sealed class ScriptedNova : IComputeClient
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, (ServerView Server, bool Changed)> _servers = new();
        private readonly List<MigrationView> _migrations = [];
        private readonly List<string> _calls = [];
        private Hold? _holdListing;
        private Hold? _holdMigrations;

        public List<string> SingleReads { get; } = [];
        public DateTimeOffset? LastSince { get; private set; }
        public ComputeException? FailNext { get; set; }

        public void Put(string uuid, string host, bool changed = false)
        {
            lock (_gate)
            {
                _servers[uuid] = (new ServerView { Id = uuid, Host = host, Status = "ACTIVE", VmState = "active" }, changed);
            }
        }

        public void AddMigration(string uuid, long id, string status)
        {
            lock (_gate)
            {
                _migrations.Add(new MigrationView(id, status, Host, null, StoreRecords.Epoch, null) { InstanceUuid = uuid });
            }
        }

        public Hold HoldNextHostListing() => _holdListing = new Hold();

        public Hold HoldNextMigrationListing() => _holdMigrations = new Hold();

        public int Count(string call)
        {
            lock (_gate)
            {
                return _calls.Count(c => c == call);
            }
        }

        private void Called(string call)
        {
            lock (_gate)
            {
                _calls.Add(call);
            }
        }

        public async Task<IReadOnlyList<ServerView>> ListServersOnHostAsync(string host, CancellationToken ct)
        {
            Called("list_servers_on_host");
            if (FailNext is { } failure)
            {
                FailNext = null;
                throw failure;
            }
            List<ServerView> listed;
            lock (_gate)
            {
                listed = _servers.Values.Where(s => s.Server.Host == host).Select(s => s.Server).ToList();
            }
            if (Interlocked.Exchange(ref _holdListing, null) is { } hold)
            {
                await hold.WaitAsync();
            }
            return listed;
        }

        public Task<IReadOnlyList<ServerView>> ListServersChangedSinceAsync(DateTimeOffset since, CancellationToken ct)
        {
            Called("changes_since");
            LastSince = since;
            lock (_gate)
            {
                return Task.FromResult<IReadOnlyList<ServerView>>(_servers.Values.Where(s => s.Changed).Select(s => s.Server).ToList());
            }
        }

        public Task<ServerView?> GetServerAsync(string instanceUuid, CancellationToken ct)
        {
            Called("get_server");
            lock (_gate)
            {
                SingleReads.Add(instanceUuid);
                return Task.FromResult(_servers.TryGetValue(instanceUuid, out var s) ? s.Server : null);
            }
        }

        public async Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsFromHostAsync(string sourceHost, CancellationToken ct)
        {
            Called("list_host_migrations");
            List<MigrationView> listed;
            lock (_gate)
            {
                listed = _migrations.Where(m => m.SourceCompute == sourceHost).OrderByDescending(m => m.Id).ToList();
            }
            if (Interlocked.Exchange(ref _holdMigrations, null) is { } hold)
            {
                await hold.WaitAsync();
            }
            return listed;
        }

        private static Task<T> NotHere<T>() => throw new InvalidOperationException("the observer does not make this call");
        public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsAsync(string instanceUuid, CancellationToken ct) => NotHere<IReadOnlyList<MigrationView>>();
        public Task<ComputeService?> FindComputeServiceAsync(string host, CancellationToken ct) => NotHere<ComputeService?>();
        public Task<IReadOnlyList<ComputeService>> ListComputeServicesAsync(CancellationToken ct) => NotHere<IReadOnlyList<ComputeService>>();
        public Task<ComputeService> ForceDownAsync(ComputeService service, CancellationToken ct) => NotHere<ComputeService>();
        public Task<ComputeService> DisableAsync(ComputeService service, string reason, CancellationToken ct) => NotHere<ComputeService>();
        public Task<ComputeService> ReleaseServiceAsync(ComputeService service, bool enable, CancellationToken ct) => NotHere<ComputeService>();
        public Task LockAsync(string instanceUuid, string reason, CancellationToken ct) => NotHere<bool>();
        public Task UnlockAsync(string instanceUuid, CancellationToken ct) => NotHere<bool>();
        public Task ResetStateAsync(string instanceUuid, string state, CancellationToken ct) => NotHere<bool>();
        public Task<EvacuateOutcome> EvacuateAsync(string instanceUuid, string? targetHost, CancellationToken ct) => NotHere<EvacuateOutcome>();
        public Task<IReadOnlyDictionary<string, string>> GetImagePropertiesAsync(string imageId, CancellationToken ct) => NotHere<IReadOnlyDictionary<string, string>>();
    }

    /// <summary>Holds one call until released; <see cref="Entered"/> completes when the call is inside.</summary>
    private sealed class Hold
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Release() => _released.TrySetResult();

        public Task WaitAsync()
        {
            _entered.TrySetResult();
            return _released.Task;
        }
    }
}
