using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Evacuationd.Etcd;
using Evacuationd.Nova;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Embedded;
using Evacuationd.Server.Grpc;
using Evacuationd.Server.Hosting;
using Evacuationd.Server.Security;
using Evacuationd.Server.Metrics;
using Microsoft.Extensions.Hosting.Systemd;
using Serilog;
using Serilog.Events;

namespace Evacuationd.Server.Commands;

/// <summary>
/// <c>evacuationd [serve]</c>: one daemon of an active-active set: an etcd store, a Nova
/// client, the engine and the gRPC endpoint. If the daemon loses its lease (partition,
/// pause) its engine stops at once; the command then joins again under a new lease.
/// </summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var configuration = ConfigurationLoader.Load(args);
        var settings = Validate(configuration);
        using var grpcSecurity = settings.Grpc;

        var logger = Logging.Create(LogEventLevel.Information, toStderr: false);
        using var loggers = LoggerFactory.Create(b => b.AddSerilog(logger, dispose: false));
        var log = loggers.CreateLogger("evacuationd");
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        var notify = new ServiceNotifications(new SystemdNotifier());
        var time = TimeProvider.System;
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new EvacuationMetrics(meters.GetRequiredService<IMeterFactory>());
        using var store = new EtcdEvacuationStore(settings.Etcd, time);
        using var compute = new NovaComputeClient(settings.Nova, time, metrics: metrics);
        EvacuationDaemon? current = null;
        var grpc = GrpcHost.Build(settings.Grpc, new GrpcBackend(store, compute, time, settings.Engine, settings.Engine.DaemonId,
            () => current is { IsDown: false }), b => b.AddSerilog(logger, dispose: false));
        await grpc.StartAsync(stop.Token).ConfigureAwait(false);
        ServeLog.Serving(log, GrpcHost.BoundAddress(grpc).ToString(), settings.Engine.DaemonId, settings.Etcd.Endpoints);
        MetricsEndpoint? scrape = null;
        Task novaCheck = Task.CompletedTask;
        try
        {
            if (settings.Metrics.Enabled)
            {
                scrape = await MetricsEndpoint.StartAsync(settings.Metrics.Listen, metrics, b => b.AddSerilog(logger, dispose: false), stop.Token).ConfigureAwait(false);
                ServeLog.Metrics(log, scrape.Address.ToString());
            }
            notify.Ready($"serving gRPC on {GrpcHost.BoundAddress(grpc)}; joining etcd as daemon {settings.Engine.DaemonId}");
            novaCheck = CheckNovaAsync(compute, log, stop.Token);
            for (var round = 1; !stop.IsCancellationRequested; round++)
            {
                current = new EvacuationDaemon(settings.Engine, store, compute, time, loggers, EmbeddedCloud.ThisVersion, settings.Listen, metrics);
                try
                {
                    await current.StartAsync(stop.Token).ConfigureAwait(false);
                    round = 1;
                    notify.Status($"daemon {settings.Engine.DaemonId} holds its lease; etcd {settings.Etcd.Endpoints}");
                    await WaitDownAsync(current, stop.Token).ConfigureAwait(false);
                    if (!stop.IsCancellationRequested)
                    {
                        notify.Status($"daemon {settings.Engine.DaemonId} lost its lease; joining again");
                    }
                }
                catch (StoreUnavailableException ex)
                {
                    ServeLog.EtcdUnavailable(log, ex.Message, round);
                    notify.Status($"etcd unavailable ({ex.Message}); try {round} to join again");
                }
                if (stop.IsCancellationRequested)
                {
                    break;
                }
                await current.DisposeAsync().ConfigureAwait(false);
                ServeLog.Rejoining(log, settings.Engine.DaemonId);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * round)), time, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        finally
        {
            notify.Stopping();
            await novaCheck.ConfigureAwait(false);
            if (current is not null)
            {
                await current.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await current.DisposeAsync().ConfigureAwait(false);
            }
            await grpc.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await grpc.DisposeAsync().ConfigureAwait(false);
            if (scrape is not null)
            {
                await scrape.DisposeAsync().ConfigureAwait(false);
            }
            await ((IAsyncDisposable)logger).DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>
    /// Logs at start whether Nova answers (Keystone token, microversion, the compute services),
    /// so that wrong credentials show before the first fencing needs them; it also sets up the
    /// client's connection and code paths then rather than during that fencing. Nova being
    /// down does not stop the daemon: it may come back before it is needed.
    /// </summary>
    private static async Task CheckNovaAsync(NovaComputeClient compute, Microsoft.Extensions.Logging.ILogger log, CancellationToken stop)
    {
        try
        {
            var version = await compute.MicroversionAsync(stop).ConfigureAwait(false);
            var services = await compute.ListComputeServicesAsync(stop).ConfigureAwait(false);
            ServeLog.NovaReachable(log, version.ToString(), services.Count, services.Count(s => s.Up && !s.ForcedDown));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is ComputeException or ArgumentException or InvalidOperationException or HttpRequestException)
        {
            ServeLog.NovaUnreachable(log, ex.Message);
        }
    }

    /// <summary>Completes when the daemon's lease is lost (or the command stops).</summary>
    private static async Task WaitDownAsync(EvacuationDaemon daemon, CancellationToken stop)
    {
        var lost = daemon.Session!.Lost;
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var a = lost.Register(() => tcs.TrySetResult());
        using var b = stop.Register(() => tcs.TrySetResult());
        await tcs.Task.ConfigureAwait(false);
    }

    internal sealed record Settings(EtcdOptions Etcd, NovaClientOptions Nova, EngineOptions Engine, string Listen, MetricsOptions Metrics, GrpcSecurity Grpc);

    /// <summary>Every configuration problem at once, each naming its key.</summary>
    internal static Settings Validate(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var errors = new List<string>();
        T Bind<T>(string section) where T : new()
        {
            try
            {
                return ConfigurationLoader.Bind<T>(configuration, section);
            }
            catch (ConfigurationException ex)
            {
                errors.AddRange(ex.Errors);
                return new T();
            }
        }

        var etcd = Bind<EtcdOptions>("Etcd");
        errors.AddRange(etcd.Validate());
        var nova = Bind<NovaClientOptions>("Nova");
        try
        {
            nova = CloudsYaml.Resolve(nova, CloudsYamlEnvironment.FromProcess());
            errors.AddRange(nova.Validate());
        }
        catch (CloudsYamlException ex)
        {
            errors.Add(ex.Message);
        }
        GrpcSecurity? grpc = null;
        try
        {
            grpc = GrpcSecurity.FromConfiguration(configuration); // Grpc:* and Security:*, files loaded
        }
        catch (ConfigurationException ex)
        {
            errors.AddRange(ex.Errors);
        }
        var engine = Bind<EngineOptions>("Engine");
        errors.AddRange(engine.Validate());
        // S4 after a takeover: a successor waits CallSettle before judging an attempt whose call
        // may still be on its way; that call must have timed out by then (model/: no-callsettle).
        if (engine.Workflow.CallSettle <= nova.EvacuateTimeout)
        {
            errors.Add($"Engine:Workflow:CallSettle ({engine.Workflow.CallSettle}) must be longer than Nova:EvacuateTimeout ({nova.EvacuateTimeout}): a daemon taking over an attempt must not judge it while its evacuate call may still reach Nova.");
        }
        var metrics = Bind<MetricsOptions>("Metrics");
        errors.AddRange(metrics.Validate());
        if (errors.Count > 0)
        {
            grpc?.Dispose();
            throw new ConfigurationException(errors);
        }
        if (string.IsNullOrEmpty(engine.DaemonId))
        {
            engine.DaemonId = $"{Environment.MachineName}-{Environment.ProcessId}";
        }
        return new Settings(etcd, nova, engine, grpc!.Listen.Url, metrics, grpc);
    }
}

internal static partial class ServeLog
{
    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "evacuationd serving gRPC on {Address} as daemon {Daemon}; etcd {Endpoints}")]
    public static partial void Serving(Microsoft.Extensions.Logging.ILogger logger, string address, string daemon, string endpoints);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "etcd unavailable ({Error}); try {Round} to join again")]
    public static partial void EtcdUnavailable(Microsoft.Extensions.Logging.ILogger logger, string error, int round);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Prometheus metrics on {Address}")]
    public static partial void Metrics(Microsoft.Extensions.Logging.ILogger logger, string address);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Nova answers: microversion {Microversion}, {Services} nova-compute services, {Up} of them up")]
    public static partial void NovaReachable(Microsoft.Extensions.Logging.ILogger logger, string microversion, int services, int up);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Nova does not answer at start ({Error}); fencings will fail until it does: check Nova's settings and clouds.yaml")]
    public static partial void NovaUnreachable(Microsoft.Extensions.Logging.ILogger logger, string error);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Daemon {Daemon} lost its lease; joining again under a new lease")]
    public static partial void Rejoining(Microsoft.Extensions.Logging.ILogger logger, string daemon);
}
