using Evacuationd.Core.Engine;
using Evacuationd.Core.Workflow;
using Evacuationd.Server.Embedded;
using Evacuationd.Simulator.Model;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Server.Tests.Support;

/// <summary>An embedded cloud with fast timings, its gRPC channel, and helpers to wait on the store.</summary>
internal sealed class TestCloud : IAsyncDisposable
{
    private TestCloud(EmbeddedCloud cloud)
    {
        Cloud = cloud;
        Channel = GrpcChannel.ForAddress(cloud.GrpcAddress);
    }

    public EmbeddedCloud Cloud { get; }

    public GrpcChannel Channel { get; }

    public SimulatedCloud Sim => Cloud.Simulator.Cloud;

    public static async Task<TestCloud> StartAsync(int daemons = 3, int instancesPerHost = 3, TimeSpan? rebuild = null, Action<SimulatedCloud>? populate = null, TimeSpan? leaseTtl = null, int hosts = 3, int maxConcurrent = 64, string? targetHost = null, Action<EngineOptions>? configure = null)
    {
        var ttl = leaseTtl ?? TimeSpan.FromSeconds(2);
        var options = new EmbeddedCloudOptions
        {
            Hosts = hosts,
            InstancesPerHost = instancesPerHost,
            Rebuild = rebuild ?? TimeSpan.FromMilliseconds(300),
            Daemons = daemons,
            GrpcListen = "http://127.0.0.1:0",
            Engine = new EngineOptions
            {
                LeaseTtl = ttl,
                MaxConcurrentRecords = maxConcurrent,
                KeepAliveInterval = ttl / 4,
                ClaimRampUp = TimeSpan.Zero,
            LeaseSafetyMargin = ttl / 8,
                ClaimGrace = TimeSpan.FromMilliseconds(200),
                Workflow = new WorkflowOptions
                {
                    PollInterval = TimeSpan.FromMilliseconds(100),
                    CallSettle = TimeSpan.FromSeconds(3),
                    BackoffBase = TimeSpan.FromMilliseconds(200),
                    BackoffMax = TimeSpan.FromSeconds(1),
                    RebuildTimeout = TimeSpan.FromSeconds(30),
                    TargetHost = targetHost,
                },
            },
        };
        configure?.Invoke(options.Engine);
        var cloud = await EmbeddedCloud.StartAsync(options, NullLoggerFactory.Instance, _ => { }, populate);
        return new TestCloud(cloud);
    }

    /// <summary>Waits, driven by the store's watch, until the host's fencing is terminal.</summary>
    public async Task WaitForFencingEndAsync(string host, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var store = Cloud.Store;
        var snapshot = await store.ReadSnapshotAsync(cts.Token);
        if (snapshot.Hosts.Any(h => h.Value.Name == host && h.Value.IsTerminal))
        {
            return;
        }
        await foreach (var change in store.WatchAsync(snapshot.Revision, cts.Token))
        {
            if (change.Host is { } h && h.Value.Name == host && h.Value.IsTerminal)
            {
                return;
            }
        }
    }

    /// <summary>Waits, driven by the store's watch, until <paramref name="done"/> holds for a snapshot.</summary>
    public async Task WaitForAsync(Func<Core.Store.StoreSnapshot, bool> done, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var store = Cloud.Store;
        var snapshot = await store.ReadSnapshotAsync(cts.Token);
        if (done(snapshot))
        {
            return;
        }
        await foreach (var _ in store.WatchAsync(snapshot.Revision, cts.Token))
        {
            if (done(await store.ReadSnapshotAsync(cts.Token)))
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Cloud.DisposeAsync();
    }
}
