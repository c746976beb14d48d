using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Engine;

/// <summary>
/// What Nova shows of each instance record, read for all the records of one fenced host at
/// once. Reading the server and its migrations per record made 2N requests per poll for N
/// records (FACTS.md: one nova-api worker answers them before the evacuate calls, and Nova's
/// rebuilds then compete with them for the CPU). One fetch for a source host reads:
/// <list type="number">
/// <item>the servers still on the host (servers/detail?host=H);</item>
/// <item>for more than <see cref="SingleReadLimit"/> asked servers not among them (their
/// evacuation moved them), the servers changed since the host's fencing (changes-since), and
/// a single read of each one still missing (deleted, or changed long before);</item>
/// <item>every evacuation migration from the host (os-migrations?source_compute=H).</item>
/// </list>
/// Freshness (S4): a runner is served only by a fetch that started after it asked. A runner
/// asking while a fetch runs waits for the next one, which starts when the running one ends
/// and serves everyone who asked meanwhile. So no observation is older than the two reads it
/// replaces would have been, and the resume rule (a migration newer than the baseline, or
/// Nova's silence for CallSettle) sees what it saw before. Every server in the answer is shown
/// as Nova has it now; which listing it came from changes nothing.
/// </summary>
/// <param name="gather">
/// How long the first ask of an idle host waits before its fetch starts, so that the runners
/// launched together (a fresh plan's records) share one fetch instead of one asking alone and
/// the rest waiting for the next. Waiting only makes the fetch later, never older (S4).
/// </param>
internal sealed class NovaObserver(IComputeClient compute, TimeProvider time, TimeSpan gather = default)
{
    /// <summary>The daemon's gather time: a fresh plan's runners ask within a few milliseconds of each other.</summary>
    public static readonly TimeSpan DefaultGather = TimeSpan.FromMilliseconds(30);

    /// <summary>Up to this many servers missing from the host's listing are read one by one.</summary>
    public const int SingleReadLimit = 2;

    /// <summary>changes-since starts this long before the oldest asking record was created (clock skew).</summary>
    public static readonly TimeSpan ChangesSinceMargin = TimeSpan.FromMinutes(10);

    /// <summary>changes-since looks back at most this far: older servers are read one by one.</summary>
    public static readonly TimeSpan ChangesSinceLimit = TimeSpan.FromHours(1);

    /// <summary>
    /// A changes-since listing that brought back more than this many servers per server it
    /// was needed for is too costly for what it finds (a large cloud, many servers changed):
    /// the missing servers are then read one by one for <see cref="SinglesAfterWaste"/>.
    /// </summary>
    public const int ChangesSinceWasteFactor = 10;

    /// <summary>How long single reads replace changes-since after a wasteful listing.</summary>
    public static readonly TimeSpan SinglesAfterWaste = TimeSpan.FromMinutes(1);

    private long _singlesUntilTicks;

    /// <summary>A plan's reads serve its records' first observation for this long after they started.</summary>
    public static readonly TimeSpan SeedLifetime = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, HostFetches> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (Answer Answer, DateTimeOffset Until)> _seeds = new(StringComparer.Ordinal);

    /// <summary>
    /// What the planning host runner read of the host (its servers, then the host's evacuation
    /// migrations, both read after the force-down and before the records were committed) serves
    /// the first observation of each record of that plan, once, within <see cref="SeedLifetime"/>
    /// of the reads' start. Only for a record still accepted at attempt 0: no evacuate was ever
    /// asked for it by any daemon (every attempt is committed before its call, S4), so there is
    /// no call of ours in flight that a later read could reveal; what others did to the server
    /// meanwhile, Nova refuses or the next observation shows, as with any read before a call.
    /// </summary>
    public void Seed(string host, DateTimeOffset readStarted, IReadOnlyList<ServerView> servers, IReadOnlyList<MigrationView> migrations, IEnumerable<InstanceRecord> records)
    {
        var answer = new Answer(
            servers.GroupBy(x => x.Id, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => (ServerView?)g.First(), StringComparer.OrdinalIgnoreCase),
            ByInstance(migrations));
        var until = readStarted + SeedLifetime;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var expired in _seeds.Where(kv => kv.Value.Until <= now).Select(kv => kv.Key).ToList())
            {
                _seeds.Remove(expired);
            }
            foreach (var r in records)
            {
                if (string.Equals(r.SourceHost, host, StringComparison.OrdinalIgnoreCase) && IsFirstLook(r))
                {
                    _seeds[r.Id] = (answer, until);
                }
            }
        }
    }

    private static bool IsFirstLook(InstanceRecord r) => r is { Attempt: 0, State: RecordState.Accepted };

    /// <summary>The record's server and its evacuation migrations, from a fetch started after this call.</summary>
    public async Task<InstanceObservation> ObserveAsync(InstanceRecord r, CancellationToken ct)
    {
        Batch batch;
        lock (_gate)
        {
            if (_seeds.Remove(r.Id, out var seed) && IsFirstLook(r) && time.GetUtcNow() < seed.Until && seed.Answer.Servers.ContainsKey(r.InstanceUuid))
            {
                return seed.Answer.For(r.InstanceUuid);
            }
            if (!_hosts.TryGetValue(r.SourceHost, out var host))
            {
                host = new HostFetches(r.SourceHost);
                _hosts[r.SourceHost] = host;
            }
            batch = host.Next ??= new Batch();
            batch.Ask(r.InstanceUuid, r.CreatedAt);
            if (!host.Busy)
            {
                host.Busy = true;
                if (gather <= TimeSpan.Zero)
                {
                    StartNext(host);
                }
                else
                {
                    _ = StartAfterGatherAsync(host);
                }
            }
        }
        var answer = await batch.Answer.Task.WaitAsync(ct).ConfigureAwait(false);
        return answer.For(r.InstanceUuid);
    }

    private async Task StartAfterGatherAsync(HostFetches host)
    {
        await Task.Delay(gather, time).ConfigureAwait(false);
        lock (_gate)
        {
            StartNext(host);
        }
    }

    /// <summary>Moves the waiting batch to running and fetches it (under the lock).</summary>
    private void StartNext(HostFetches host)
    {
        var batch = host.Next!;
        host.Next = null;
        host.Running = batch;
        _ = Task.Run(async () =>
        {
            try
            {
                batch.Answer.TrySetResult(await FetchAsync(host.Name, batch).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                batch.Answer.TrySetException(ex);
            }
            lock (_gate)
            {
                host.Running = null;
                if (host.Next is not null)
                {
                    StartNext(host);
                }
                else
                {
                    host.Busy = false;
                    _hosts.Remove(host.Name);
                }
            }
        });
    }

    private async Task<Answer> FetchAsync(string host, Batch batch)
    {
        // Bounded by the compute client's own call limits; the runners stop waiting on their own tokens.
        var ct = CancellationToken.None;
        var wanted = batch.Uuids;
        var servers = new Dictionary<string, ServerView?>(StringComparer.OrdinalIgnoreCase);
        Take(servers, wanted, await compute.ListServersOnHostAsync(host, ct).ConfigureAwait(false));
        var moved = Missing(servers, wanted).Count;
        if (moved > SingleReadLimit && time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _singlesUntilTicks))
        {
            var now = time.GetUtcNow();
            var since = batch.OldestCreated - ChangesSinceMargin;
            if (since < now - ChangesSinceLimit)
            {
                since = now - ChangesSinceLimit;
            }
            var changed = await compute.ListServersChangedSinceAsync(since, ct).ConfigureAwait(false);
            Take(servers, wanted, changed);
            // At 10,000 instances every host's fetch listed thousands of changed servers to find
            // its twenty: that made each fetch cost the size of the cloud, and the run quadratic.
            if (changed.Count > ChangesSinceWasteFactor * moved + 100)
            {
                Interlocked.Exchange(ref _singlesUntilTicks, (now + SinglesAfterWaste).UtcTicks);
            }
        }
        var missing = Missing(servers, wanted);
        var singles = await Task.WhenAll(missing.Select(uuid => compute.GetServerAsync(uuid, ct))).ConfigureAwait(false);
        for (var i = 0; i < missing.Count; i++)
        {
            servers[missing[i]] = singles[i];
        }
        var migrations = await compute.ListEvacuationMigrationsFromHostAsync(host, ct).ConfigureAwait(false);
        return new Answer(servers, ByInstance(migrations));
    }

    private static Dictionary<string, IReadOnlyList<MigrationView>> ByInstance(IEnumerable<MigrationView> migrations) => migrations
        .Where(m => m.InstanceUuid is not null)
        .GroupBy(m => m.InstanceUuid!, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => (IReadOnlyList<MigrationView>)g.OrderByDescending(m => m.Id).ToList(), StringComparer.OrdinalIgnoreCase);

    private static void Take(Dictionary<string, ServerView?> servers, HashSet<string> wanted, IEnumerable<ServerView> listed)
    {
        foreach (var s in listed)
        {
            if (wanted.Contains(s.Id))
            {
                servers[s.Id] = s;
            }
        }
    }

    private static List<string> Missing(Dictionary<string, ServerView?> servers, HashSet<string> wanted) =>
        wanted.Where(uuid => !servers.ContainsKey(uuid)).ToList();

    /// <summary>The fetch running for a host, and the batch that waits to start after it.</summary>
    private sealed class HostFetches(string name)
    {
        public string Name { get; } = name;
        /// <summary>A fetch runs or is about to start (gathering): a new ask joins <see cref="Next"/>.</summary>
        public bool Busy { get; set; }
        public Batch? Running { get; set; }
        public Batch? Next { get; set; }
    }

    /// <summary>The records one fetch serves; frozen once it starts.</summary>
    private sealed class Batch
    {
        public HashSet<string> Uuids { get; } = new(StringComparer.OrdinalIgnoreCase);
        public DateTimeOffset OldestCreated { get; private set; } = DateTimeOffset.MaxValue;
        public TaskCompletionSource<Answer> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Ask(string uuid, DateTimeOffset created)
        {
            Uuids.Add(uuid);
            if (created < OldestCreated)
            {
                OldestCreated = created;
            }
        }
    }

    private sealed record Answer(IReadOnlyDictionary<string, ServerView?> Servers, IReadOnlyDictionary<string, IReadOnlyList<MigrationView>> Migrations)
    {
        public InstanceObservation For(string uuid) => new(
            Servers.GetValueOrDefault(uuid),
            Migrations.GetValueOrDefault(uuid) ?? []);
    }
}
