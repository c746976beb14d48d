using Evacuationd.Core.Api;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Core.Workflow;
using Evacuationd.Nova;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// Several daemons in one test process, each with its own connection to a real etcd (as
/// separate processes would have), driving a simulated cloud over HTTP.
/// </summary>
internal sealed class EtcdCloud : IAsyncDisposable
{
    private readonly List<EtcdEvacuationStore> _stores = [];

    private EtcdCloud(RunningSimulator simulator, NovaComputeClient compute, EtcdEvacuationStore observer, List<EvacuationDaemon> daemons, List<EtcdEvacuationStore> stores)
    {
        Simulator = simulator;
        Compute = compute;
        Observer = observer;
        Daemons = daemons;
        _stores = stores;
    }

    public RunningSimulator Simulator { get; }

    public SimulatedCloud Sim => Simulator.Cloud;

    public NovaComputeClient Compute { get; }

    /// <summary>A store connection of the test itself (reads, watches, reports).</summary>
    public EtcdEvacuationStore Observer { get; }

    public IReadOnlyList<EvacuationDaemon> Daemons { get; }

    public static async Task<EtcdCloud> StartAsync(string endpoints, string prefix, int daemons = 3, int instancesPerHost = 6, TimeSpan? rebuild = null, TimeSpan? leaseTtl = null)
    {
        var time = TimeProvider.System;
        var sim = SimulatedCloud.CreatePopulated(new SimulatorOptions { Hosts = 4, InstancesPerHost = instancesPerHost, Rebuild = rebuild ?? TimeSpan.FromSeconds(1.5) }, time);
        var simulator = await SimulatorHost.StartAsync(sim, "http://127.0.0.1:0");
        var compute = new NovaComputeClient(new NovaClientOptions { AuthUrl = simulator.IdentityUrl.ToString(), Username = "admin", Password = "x", ProjectName = "admin" }, time);
        var etcdOptions = new EtcdOptions { Endpoints = endpoints, Prefix = prefix, RequestTimeout = TimeSpan.FromSeconds(2), WriteResolveTimeout = TimeSpan.FromSeconds(30) };
        var stores = new List<EtcdEvacuationStore>();
        var list = new List<EvacuationDaemon>();
        var engine = new EngineOptions
        {
            LeaseTtl = leaseTtl ?? TimeSpan.FromSeconds(5),
            KeepAliveInterval = TimeSpan.FromSeconds(1),
            LeaseSafetyMargin = TimeSpan.FromSeconds(1),
            ClaimGrace = TimeSpan.FromMilliseconds(300),
            ClaimRampUp = TimeSpan.Zero,
            Workflow = new WorkflowOptions
            {
                PollInterval = TimeSpan.FromMilliseconds(200),
                CallSettle = TimeSpan.FromSeconds(10),
                BackoffBase = TimeSpan.FromMilliseconds(500),
                BackoffMax = TimeSpan.FromSeconds(2),
                RebuildTimeout = TimeSpan.FromSeconds(60),
            },
        };
        for (var i = 1; i <= daemons; i++)
        {
            var store = new EtcdEvacuationStore(etcdOptions, time);
            stores.Add(store);
            var daemon = new EvacuationDaemon(engine.ForDaemon($"daemon-{i}"), store, compute, time, NullLoggerFactory.Instance);
            await daemon.StartAsync(CancellationToken.None);
            list.Add(daemon);
        }
        var observer = new EtcdEvacuationStore(etcdOptions, time);
        stores.Add(observer);
        return new EtcdCloud(simulator, compute, observer, list, stores);
    }

    /// <summary>Powers the host off in the simulated cloud and reports its fence (as the fence agent would).</summary>
    public async Task<FenceDecision> FenceAsync(string host)
    {
        Sim.PowerOff(host);
        return await new FenceIntake(Observer, TimeProvider.System, "test").ReportAsync(new FenceReport(host, FenceSource.FenceAgent, "test fencer"), CancellationToken.None);
    }

    /// <summary>Waits on the store's watch until <paramref name="done"/> holds for a snapshot; bounded.</summary>
    public async Task<StoreSnapshot> WaitAsync(Func<StoreSnapshot, bool> done, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var snapshot = await Observer.ReadSnapshotAsync(cts.Token);
        if (done(snapshot))
        {
            return snapshot;
        }
        try
        {
            await foreach (var _ in Observer.WatchAsync(snapshot.Revision, cts.Token))
            {
                snapshot = await Observer.ReadSnapshotAsync(cts.Token);
                if (done(snapshot))
                {
                    return snapshot;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"not reached within {timeout}: {Describe(snapshot)}");
    }

    public static bool FencingEnded(StoreSnapshot s, string host) => s.Hosts.Any(h => h.Value.Name == host && h.Value.IsTerminal);

    /// <summary>The daemon owning most in-flight instance records, and those records.</summary>
    public static (string Daemon, IReadOnlyList<string> Records)? BusiestInFlight(StoreSnapshot s)
    {
        var inFlight = s.Instances.Where(v => v.Value.State.IsInFlight()).Select(v => RecordKey.Instance(v.Value.Id)).ToHashSet();
        var best = s.Owners.Where(kv => inFlight.Contains(kv.Key)).GroupBy(kv => kv.Value).OrderByDescending(g => g.Count()).FirstOrDefault();
        return best is null ? null : (best.Key, best.Select(kv => kv.Key.Id).ToList());
    }

    public static string Describe(StoreSnapshot s) =>
        string.Join("; ", s.Hosts.Select(h => $"{h.Value.Name}:{h.Value.State.Name()}")) + " | " +
        string.Join(", ", s.Instances.GroupBy(v => v.Value.State).Select(g => $"{g.Key.Name()}={g.Count()}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Daemons)
        {
            await d.DisposeAsync();
        }
        foreach (var s in _stores)
        {
            s.Dispose();
        }
        Compute.Dispose();
        await Simulator.DisposeAsync();
    }
}
