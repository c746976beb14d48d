using System.Runtime.InteropServices;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Evacuationd.Etcd;
using Evacuationd.Nova;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Embedded;
using Evacuationd.Server.Grpc;
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

        var logger = Logging.Create(LogEventLevel.Information, toStderr: false);
        using var loggers = LoggerFactory.Create(b => b.AddSerilog(logger, dispose: false));
        var log = loggers.CreateLogger("evacuationd");
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        var time = TimeProvider.System;
        using var store = new EtcdEvacuationStore(settings.Etcd, time);
        using var compute = new NovaComputeClient(settings.Nova, time);
        EvacuationDaemon? current = null;
        var grpc = GrpcHost.Build(settings.Listen, new GrpcBackend(store, compute, time, settings.Engine, settings.Engine.DaemonId,
            () => current is { IsDown: false }), b => b.AddSerilog(logger, dispose: false));
        await grpc.StartAsync(stop.Token).ConfigureAwait(false);
        ServeLog.Serving(log, GrpcHost.BoundAddress(grpc).ToString(), settings.Engine.DaemonId, settings.Etcd.Endpoints);
        try
        {
            for (var round = 1; !stop.IsCancellationRequested; round++)
            {
                current = new EvacuationDaemon(settings.Engine, store, compute, time, loggers, EmbeddedCloud.ThisVersion, settings.Listen);
                try
                {
                    await current.StartAsync(stop.Token).ConfigureAwait(false);
                    round = 1;
                    await WaitDownAsync(current, stop.Token).ConfigureAwait(false);
                }
                catch (StoreUnavailableException ex)
                {
                    ServeLog.EtcdUnavailable(log, ex.Message, round);
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
            if (current is not null)
            {
                await current.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await current.DisposeAsync().ConfigureAwait(false);
            }
            await grpc.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await grpc.DisposeAsync().ConfigureAwait(false);
            await ((IAsyncDisposable)logger).DisposeAsync().ConfigureAwait(false);
        }
        return 0;
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

    internal sealed record Settings(EtcdOptions Etcd, NovaClientOptions Nova, EngineOptions Engine, string Listen);

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
        var listen = configuration["Grpc:Listen"] ?? "";
        if (listen.Length == 0)
        {
            errors.Add("Grpc:Listen is required (e.g. http://127.0.0.1:50077).");
        }
        else
        {
            try
            {
                GrpcHost.ParseListen(listen);
            }
            catch (ConfigurationException ex)
            {
                errors.AddRange(ex.Errors);
            }
        }
        var engine = Bind<EngineOptions>("Engine");
        errors.AddRange(engine.Validate());
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }
        if (string.IsNullOrEmpty(engine.DaemonId))
        {
            engine.DaemonId = $"{Environment.MachineName}-{Environment.ProcessId}";
        }
        return new Settings(etcd, nova, engine, listen);
    }
}

internal static partial class ServeLog
{
    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "evacuationd serving gRPC on {Address} as daemon {Daemon}; etcd {Endpoints}")]
    public static partial void Serving(Microsoft.Extensions.Logging.ILogger logger, string address, string daemon, string endpoints);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "etcd unavailable ({Error}); try {Round} to join again")]
    public static partial void EtcdUnavailable(Microsoft.Extensions.Logging.ILogger logger, string error, int round);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Daemon {Daemon} lost its lease; joining again under a new lease")]
    public static partial void Rejoining(Microsoft.Extensions.Logging.ILogger logger, string daemon);
}
