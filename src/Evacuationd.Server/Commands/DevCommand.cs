using System.Runtime.InteropServices;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Embedded;
using Serilog;
using Serilog.Events;

namespace Evacuationd.Server.Commands;

/// <summary>
/// <c>evacuationd dev</c>: the embedded default kept running, serving gRPC on loopback without
/// TLS or authentication, so that evacctl can be tried against it.
/// </summary>
internal static class DevCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var configuration = ConfigurationLoader.Load(args);
        var options = ConfigurationLoader.Bind<EmbeddedCloudOptions>(configuration, "Dev");
        if (configuration["Grpc:Listen"] is { Length: > 0 } listen)
        {
            options.GrpcListen = listen;
        }
        if (configuration["Metrics:Listen"] is { Length: > 0 } metricsListen)
        {
            options.Metrics.Listen = metricsListen;
        }
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }
        Grpc.GrpcHost.ParseListen(options.GrpcListen);

        var logger = Logging.Create(LogEventLevel.Information, toStderr: false);
        using var loggers = LoggerFactory.Create(b => b.AddSerilog(logger, dispose: false));
        var log = loggers.CreateLogger("evacuationd");
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        await using (var cloud = await EmbeddedCloud.StartAsync(options, loggers, b => b.AddSerilog(logger, dispose: false), ct: stop.Token).ConfigureAwait(false))
        {
            DevLog.Insecure(log, cloud.GrpcAddress.ToString());
            var metricsLine = cloud.MetricsEndpoint is { } m ? $"\n  metrics: {m.Address}" : "";
            var hosts = cloud.Simulator.Cloud.GetHosts().Select(h => h.Name).ToList();
            Console.WriteLine($"""

                evacuationd dev: {cloud.Daemons.Count} daemons, in-memory store, simulated cloud at {cloud.Simulator.BaseUrl}
                  compute hosts: {string.Join(", ", hosts)} ({options.InstancesPerHost} instances each)
                  gRPC: {cloud.GrpcAddress} (plaintext, loopback only, NO authentication: development only)
                  try:  evacctl --server {cloud.GrpcAddress} fence {hosts[0]} --confirm-powered-off
                        evacctl --server {cloud.GrpcAddress} watch
                        evacctl --server {cloud.GrpcAddress} show <record id>
                  stop: Ctrl-C or SIGTERM{metricsLine}

                """);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            DevLog.Stopping(log);
        }
        await ((IAsyncDisposable)logger).DisposeAsync().ConfigureAwait(false);
        return 0;
    }
}

internal static partial class DevLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "DEVELOPMENT MODE: gRPC on {Address} without TLS and without authentication (loopback only); never run this for a real cloud")]
    public static partial void Insecure(Microsoft.Extensions.Logging.ILogger logger, string address);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Stopping: daemons hand their records over and revoke their leases")]
    public static partial void Stopping(Microsoft.Extensions.Logging.ILogger logger);
}
