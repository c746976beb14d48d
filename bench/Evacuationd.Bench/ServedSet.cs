using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Etcdserverpb;
using Evacuationd.Core.Api;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Etcd;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Evacuationd.Testing.Etcd;
using Google.Protobuf;

namespace Evacuationd.Bench;

/// <summary>
/// Daemons as an operator runs them: <c>evacuationd serve</c> processes sharing one
/// configuration file (etcd, evacsim's Keystone, a plaintext loopback gRPC port chosen by the
/// kernel, the engine settings of the mode), on a fresh key prefix; evacsim served in this
/// process on Kestrel; and the bench's own store (reporter and observer). The work folder
/// (configuration and one log per daemon) is deleted on dispose unless the run failed.
/// </summary>
internal sealed class ServedSet : IAsyncDisposable
{
    /// <summary>Blast radius wide open: the bench fences many hosts on purpose.</summary>
    public static readonly PolicyOptions WidePolicy = new() { MaxHostsInWindow = 100_000, MaxSharePercent = 100 };

    private readonly EtcdCluster _cluster;
    private readonly RunningSimulator _simulator;
    private readonly List<ServedDaemon> _daemons = [];
    private readonly string _config;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private bool _keep;

    private ServedSet(EtcdCluster cluster, RunningSimulator simulator, string work, string prefix, string config, IReadOnlyDictionary<string, string> environment)
    {
        _environment = environment;
        _cluster = cluster;
        _simulator = simulator;
        Work = work;
        Prefix = prefix;
        _config = config;
        Observer = new EtcdEvacuationStore(new EtcdOptions { Endpoints = cluster.ClientUrls, Prefix = prefix }, TimeProvider.System);
        Intake = new FenceIntake(Observer, TimeProvider.System, "bench", WidePolicy);
    }

    public string Work { get; }

    public string Prefix { get; }

    public SimulatedCloud Sim => _simulator.Cloud;

    /// <summary>The bench's own store: fence reports go in and the observation comes out through it.</summary>
    public EtcdEvacuationStore Observer { get; }

    public FenceIntake Intake { get; }

    /// <summary>The daemons running now (a replaced one leaves the list).</summary>
    public IReadOnlyList<ServedDaemon> Daemons => _daemons;

    public KV.KVClient Kv => _cluster.Client.GetConnection().KVClient;

    /// <summary>evacsim with <paramref name="sim"/>, then <paramref name="daemons"/> daemons named idPrefix1..N, each serving once it runs under a lease.</summary>
    public static async Task<ServedSet> StartAsync(EtcdCluster cluster, SimulatorOptions sim, JsonObject engine, int daemons, string idPrefix,
        IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("evacuationd-bench-").FullName;
        var prefix = $"/evacuationd-bench/{Guid.NewGuid():N}";
        var simulator = await SimulatorHost.StartAsync(SimulatedCloud.CreatePopulated(sim, TimeProvider.System), "http://127.0.0.1:0", ct);
        var config = Path.Combine(work, "evacuationd.json");
        var json = new JsonObject
        {
            ["Etcd"] = new JsonObject { [nameof(EtcdOptions.Endpoints)] = cluster.ClientUrls, [nameof(EtcdOptions.Prefix)] = prefix },
            ["Nova"] = new JsonObject { ["AuthUrl"] = simulator.IdentityUrl.ToString(), ["Username"] = "admin", ["Password"] = "x", ["ProjectName"] = "admin" },
            ["Grpc"] = new JsonObject { ["Listen"] = "http://127.0.0.1:0" },
            ["Engine"] = engine,
        };
        await File.WriteAllTextAsync(config, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), ct);
        var set = new ServedSet(cluster, simulator, work, prefix, config, environment);
        try
        {
            await Task.WhenAll(Enumerable.Range(1, daemons).Select(i => set.StartDaemonAsync($"{idPrefix}{i.ToString(CultureInfo.InvariantCulture)}", ct)));
            return set;
        }
        catch
        {
            set._keep = true;
            await set.DisposeAsync();
            throw;
        }
    }

    /// <summary>Engine settings as `evacuationd serve` reads them (TimeSpans as "c" strings).</summary>
    public static string Span(TimeSpan t) => t.ToString("c", CultureInfo.InvariantCulture);

    /// <summary>The Engine:Policy section matching <see cref="WidePolicy"/>.</summary>
    public static JsonObject WidePolicyJson() => new()
    {
        ["MaxHostsInWindow"] = WidePolicy.MaxHostsInWindow,
        ["MaxSharePercent"] = WidePolicy.MaxSharePercent,
    };

    /// <summary>Starts one more daemon and waits until it is registered under its lease (its engine runs).</summary>
    public async Task<ServedDaemon> StartDaemonAsync(string id, CancellationToken ct)
    {
        var d = ServedDaemon.Start(id, _config, Path.Combine(Work, id + ".log"), _environment);
        lock (_daemons)
        {
            _daemons.Add(d);
        }
        var until = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
        while (!(await Observer.ListDaemonsAsync(ct)).Any(x => x.Id == id))
        {
            if (d.HasExited)
            {
                _keep = true;
                throw new InvalidOperationException($"evacuationd {id} exited while starting:\n{d.Tail(30)}");
            }
            if (Stopwatch.GetTimestamp() > until)
            {
                _keep = true;
                throw new TimeoutException($"evacuationd {id} did not register in etcd within 120 s:\n{d.Tail(30)}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
        return d;
    }

    /// <summary>Forgets a daemon that was killed or stopped (its log stays).</summary>
    public void Remove(ServedDaemon d)
    {
        lock (_daemons)
        {
            _daemons.Remove(d);
        }
        d.Dispose();
    }

    /// <summary>Keeps the work folder (logs) after dispose, e.g. when a check failed.</summary>
    public void Keep() => _keep = true;

    /// <summary>
    /// Powers hosts off in evacsim ahead of their reports: a host that is down takes no rebuild,
    /// so a warm-up fencing does not add instances to hosts fenced later.
    /// </summary>
    public void PowerOff(IEnumerable<string> hosts)
    {
        foreach (var h in hosts)
        {
            Sim.PowerOff(h);
        }
    }

    /// <summary>Instances evacsim shows on <paramref name="host"/>.</summary>
    public int InstancesOn(string host) => Sim.ListInstances().Count(i => i.Host == host);

    /// <summary>
    /// Powers <paramref name="hosts"/> off in evacsim (if not yet) and reports them through the fence intake
    /// the gRPC API uses, at most <paramref name="parallel"/> at a time (every report is a
    /// compare-and-swap of the blast-radius window: all at once, most would conflict and retry).
    /// Returns when every report is acknowledged (its host record committed).
    /// </summary>
    public async Task ReportAsync(IReadOnlyList<string> hosts, int parallel, CancellationToken ct)
    {
        PowerOff(hosts);
        await Parallel.ForEachAsync(hosts, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, async (h, token) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var d = await Intake.ReportAsync(new FenceReport(h, FenceSource.FenceAgent, "bench fencer"), token);
                    if (d.Outcome != FenceOutcome.Created || d.Host.State == HostState.Held)
                    {
                        throw new InvalidOperationException($"{h}: the report was not taken as a new fencing: {d.Outcome} {d.Host.State.Name()}: {d.Message}");
                    }
                    return;
                }
                catch (StoreUnavailableException) when (attempt < 5)
                {
                    // "kept changing": the window was changed by the other reports; report again as a fencer would
                }
            }
        });
    }

    /// <summary>Polls the store until <paramref name="done"/> holds for the snapshot (the bench's pace, not a figure).</summary>
    public async Task<StoreSnapshot> UntilAsync(Func<StoreSnapshot, bool> done, TimeSpan timeout, string what, CancellationToken ct)
    {
        var until = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var s = await Observer.ReadSnapshotAsync(ct);
            if (done(s))
            {
                return s;
            }
            if (Stopwatch.GetTimestamp() > until)
            {
                _keep = true;
                throw new TimeoutException($"{what}: not within {timeout.TotalSeconds:F0} s; records: " +
                    string.Join(", ", s.Instances.GroupBy(v => v.Value.State).Select(g => $"{g.Key.Name()}={g.Count()}")) +
                    $"; work folder {Work}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }

    /// <summary>Keys under this set's prefix by kind (the segment after the prefix: instances, hosts, owners, ...), and "all".</summary>
    public async Task<IReadOnlyDictionary<string, long>> KeyCountsAsync(CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var kind in new[] { "instances", "hosts", "owners", "daemons", "slots", "control", "requests" })
        {
            counts[kind] = await CountAsync(Kv, $"{Prefix}/{kind}/", ct);
        }
        counts["all"] = await CountAsync(Kv, Prefix + "/", ct);
        return counts;
    }

    /// <summary>etcd's current revision (every committed write transaction adds one).</summary>
    public static async Task<long> RevisionAsync(KV.KVClient kv, CancellationToken ct)
    {
        var r = await kv.RangeAsync(new RangeRequest { Key = EtcdTestClient.Bytes("/evacuationd-bench/revision"), CountOnly = true },
            deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(10)), cancellationToken: ct);
        return r.Header.Revision;
    }

    private static async Task<long> CountAsync(KV.KVClient kv, string prefix, CancellationToken ct)
    {
        var key = EtcdTestClient.Bytes(prefix);
        var end = key.ToByteArray();
        end[^1]++; // the prefixes end in '/': no carry
        var request = new RangeRequest { Key = key, RangeEnd = ByteString.CopyFrom(end), CountOnly = true };
        var r = await kv.RangeAsync(request, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(10)), cancellationToken: ct);
        return r.Count;
    }

    public async ValueTask DisposeAsync()
    {
        List<ServedDaemon> all;
        lock (_daemons)
        {
            all = [.. _daemons];
            _daemons.Clear();
        }
        await Task.WhenAll(all.Select(d => d.StopAsync(TimeSpan.FromSeconds(20))));
        foreach (var d in all)
        {
            d.Dispose();
        }
        Observer.Dispose();
        await _simulator.DisposeAsync();
        if (_keep)
        {
            Console.Error.WriteLine($"kept the daemons' configuration and logs in {Work}");
            return;
        }
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
