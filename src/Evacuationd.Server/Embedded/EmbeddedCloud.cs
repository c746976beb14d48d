using System.Diagnostics.Metrics;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Metrics;
using Evacuationd.Core.Store;
using Evacuationd.Nova;
using Evacuationd.Server.Grpc;
using Evacuationd.Server.Metrics;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Server.Embedded;

/// <summary>
/// The embedded default: a simulated cloud (evacsim, served over real HTTP on loopback), an
/// in-memory store, several daemons in this process and the gRPC endpoint. The daemons talk
/// to evacsim through the same Nova client, Keystone password auth included, that they use
/// against a real cloud: no special path for the simulator. Like `evacuationd serve`, a daemon
/// whose lease lapsed on its own (a starved machine) joins again under a new lease; one that
/// was killed or stopped stays down.
/// </summary>
public sealed class EmbeddedCloud : IAsyncDisposable
{
    // An array: a daemon that joins again replaces its slot while others may enumerate.
    private readonly EvacuationDaemon[] _daemons;
    private readonly NovaComputeClient _compute;
    private readonly ServiceProvider _meters;
    private readonly CancellationTokenSource _closing = new();
    private Task _supervisors = Task.CompletedTask;

    private EmbeddedCloud(RunningSimulator simulator, InMemoryEvacuationStore store, NovaComputeClient compute, EvacuationDaemon[] daemons, WebApplication grpc, Uri grpcAddress,
        ServiceProvider meters, EvacuationMetrics metrics, MetricsEndpoint? metricsEndpoint)
    {
        _meters = meters;
        Metrics = metrics;
        MetricsEndpoint = metricsEndpoint;
        Simulator = simulator;
        Store = store;
        _compute = compute;
        _daemons = daemons;
        Grpc = grpc;
        GrpcAddress = grpcAddress;
    }

    public RunningSimulator Simulator { get; }

    public InMemoryEvacuationStore Store { get; }

    public IReadOnlyList<EvacuationDaemon> Daemons => _daemons;

    public WebApplication Grpc { get; }

    /// <summary>What every daemon and the Nova client of this cloud record.</summary>
    public EvacuationMetrics Metrics { get; }

    /// <summary>The Prometheus scrape endpoint, when options.Metrics.Listen was given.</summary>
    public MetricsEndpoint? MetricsEndpoint { get; }

    /// <summary>Where evacctl reaches this cloud's daemons.</summary>
    public Uri GrpcAddress { get; }

    /// <param name="populate">Changes the simulated cloud before anything starts (extra instances, ...).</param>
    public static async Task<EmbeddedCloud> StartAsync(EmbeddedCloudOptions options, ILoggerFactory loggers, Action<ILoggingBuilder> grpcLogging, Action<SimulatedCloud>? populate = null, CancellationToken ct = default)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new Configuration.ConfigurationException(errors);
        }
        var time = TimeProvider.System;
        var cloud = SimulatedCloud.CreatePopulated(new SimulatorOptions
        {
            Hosts = options.Hosts,
            InstancesPerHost = options.InstancesPerHost,
            Rebuild = options.Rebuild,
            Listen = options.SimulatorListen,
        }, time);
        populate?.Invoke(cloud);
        var simulator = await SimulatorHost.StartAsync(cloud, options.SimulatorListen, ct).ConfigureAwait(false);

        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new EvacuationMetrics(meters.GetRequiredService<IMeterFactory>());

        // Any user and password work against evacsim's Keystone; the catalog leads to its Nova.
        var compute = new NovaComputeClient(new NovaClientOptions
        {
            AuthUrl = simulator.IdentityUrl.ToString(),
            Username = "admin",
            Password = "embedded",
            ProjectName = "admin",
        }, time, metrics: metrics);

        var store = new InMemoryEvacuationStore(time);
        var daemons = new EvacuationDaemon[options.Daemons];
        EvacuationDaemon NewDaemon(int slot) =>
            new(options.Engine.ForDaemon($"daemon-{slot + 1}"), store, compute, time, loggers, ThisVersion, "embedded", metrics);
        for (var i = 0; i < daemons.Length; i++)
        {
            daemons[i] = NewDaemon(i);
            await daemons[i].StartAsync(ct).ConfigureAwait(false);
        }

        var grpc = GrpcHost.Build(options.GrpcListen, new GrpcBackend(store, compute, time, options.Engine, daemons[0].Id, () => daemons.Any(d => !d.IsDown)), grpcLogging);
        await grpc.StartAsync(ct).ConfigureAwait(false);
        var metricsEndpoint = options.Metrics.Enabled
            ? await MetricsEndpoint.StartAsync(options.Metrics.Listen, metrics, grpcLogging, ct).ConfigureAwait(false)
            : null;
        var embedded = new EmbeddedCloud(simulator, store, compute, daemons, grpc, GrpcHost.BoundAddress(grpc), meters, metrics, metricsEndpoint);
        embedded._supervisors = Task.WhenAll(Enumerable.Range(0, daemons.Length).Select(slot => Task.Run(() => embedded.SuperviseAsync(slot, NewDaemon))));
        return embedded;
    }

    /// <summary>
    /// Keeps one daemon slot alive as a process supervisor would: when the daemon's lease lapses
    /// on its own, a new daemon with the same id joins under a new lease (its old records are
    /// claimed like anyone's once the old lease is gone). A killed or stopped daemon stays down.
    /// </summary>
    private async Task SuperviseAsync(int slot, Func<int, EvacuationDaemon> create)
    {
        var closing = _closing.Token;
        while (!closing.IsCancellationRequested)
        {
            var daemon = _daemons[slot];
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (daemon.Session!.Lost.Register(() => lost.TrySetResult()))
            using (closing.Register(() => lost.TrySetResult()))
            {
                await lost.Task.ConfigureAwait(false);
            }
            if (closing.IsCancellationRequested || !daemon.LostItsLease)
            {
                return;
            }
            await daemon.DisposeAsync().ConfigureAwait(false);
            var next = create(slot);
            try
            {
                await next.StartAsync(closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                return;
            }
            _daemons[slot] = next;
        }
    }

    public static string ThisVersion => typeof(EmbeddedCloud).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Stops every daemon gracefully, then the endpoint and the simulator.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await _supervisors.ConfigureAwait(false);
        _closing.Dispose();
        foreach (var d in _daemons)
        {
            await d.DisposeAsync().ConfigureAwait(false);
        }
        await Grpc.StopAsync().ConfigureAwait(false);
        await Grpc.DisposeAsync().ConfigureAwait(false);
        if (MetricsEndpoint is not null)
        {
            await MetricsEndpoint.DisposeAsync().ConfigureAwait(false);
        }
        await Simulator.DisposeAsync().ConfigureAwait(false);
        _compute.Dispose();
        Store.Dispose();
        await _meters.DisposeAsync().ConfigureAwait(false);
    }
}
