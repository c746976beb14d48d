using System.Net;
using Evacuationd.Core.Api;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Evacuationd.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Evacuationd.Server.Grpc;

/// <summary>What the gRPC endpoint serves from.</summary>
/// <param name="EngineUp">True while at least one engine of this process holds its lease (the health check).</param>
internal sealed record GrpcBackend(
    IEvacuationStore Store,
    IComputeClient Compute,
    TimeProvider Time,
    EngineOptions Engine,
    string DaemonId,
    Func<bool> EngineUp);

/// <summary>
/// Builds the gRPC endpoint: evacuationd.v1 (Fencing, Operator, Agent), grpc.health.v1 and
/// reflection (so grpcurl works). Plaintext is allowed on loopback only (S8).
/// </summary>
internal static class GrpcHost
{
    public static WebApplication Build(string listen, GrpcBackend backend, Action<ILoggingBuilder> logging)
    {
        var endpoint = ParseListen(listen);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        logging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endpoint, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorMappingInterceptor>();
            o.MaxReceiveMessageSize = 1024 * 1024;
            o.EnableDetailedErrors = false;
        });
        builder.Services.AddGrpcHealthChecks()
            .AddCheck("engine", () => backend.EngineUp()
                ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("a daemon of this process holds its lease")
                : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("no daemon of this process holds a lease"));
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton(backend.Store);
        builder.Services.AddSingleton(backend.Compute);
        builder.Services.AddSingleton(backend.Time);
        builder.Services.AddSingleton(Options.Create(backend.Engine));
        builder.Services.AddSingleton(new FenceIntake(backend.Store, backend.Time, backend.DaemonId));
        builder.Services.AddSingleton(new EvacuationQueries(backend.Store));

        var app = builder.Build();
        app.MapGrpcService<FencingService>();
        app.MapGrpcService<OperatorService>();
        app.MapGrpcService<AgentService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>The address the started app really listens on (port 0 resolved).</summary>
    public static Uri BoundAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("the gRPC endpoint has no address");
        return new Uri(first.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>
    /// Grpc:Listen as an endpoint. Plaintext (http) only on a loopback address: mutual TLS,
    /// required anywhere else, is not part of this build.
    /// </summary>
    public static IPEndPoint ParseListen(string listen)
    {
        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new ConfigurationException([$"Grpc:Listen must be a URL like http://127.0.0.1:50077 (got '{listen}')."]);
        }
        if (uri.Scheme == "https")
        {
            throw new ConfigurationException(["Grpc:Listen: https (mutual TLS) is not supported by this build yet; use http on a loopback address for development."]);
        }
        IPAddress address;
        if (uri.Host is "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address!))
        {
            throw new ConfigurationException([$"Grpc:Listen must name an IP address or localhost (got '{uri.Host}')."]);
        }
        if (!IPAddress.IsLoopback(address))
        {
            throw new ConfigurationException([$"Grpc:Listen: plaintext gRPC without TLS is allowed only on loopback (got {address}); without mutual TLS anyone on the network could report fences (S8)."]);
        }
        return new IPEndPoint(address, uri.Port);
    }
}
