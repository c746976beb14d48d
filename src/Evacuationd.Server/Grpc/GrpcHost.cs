using System.Net;
using System.Security.Authentication;
using Evacuationd.Core.Api;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Evacuationd.Server.Security;
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
/// reflection (so grpcurl works). S8: with https, mutual TLS (client certificates must chain
/// to Grpc:ClientCaFile) and every call authorised by role (<see cref="AuthorizationInterceptor"/>);
/// plaintext only on loopback, where every caller is an operator (development, logged loudly).
/// </summary>
internal static partial class GrpcHost
{
    /// <summary>A plaintext loopback endpoint (dev, demo, tests): every caller is an operator.</summary>
    public static WebApplication Build(string listen, GrpcBackend backend, Action<ILoggingBuilder> logging) =>
        Build(GrpcSecurity.Plaintext(listen), backend, logging);

    /// <summary>
    /// The endpoint described by <paramref name="security"/> (see <see cref="GrpcSecurity.FromConfiguration"/>).
    /// The caller keeps ownership of <paramref name="security"/> and disposes it after the app.
    /// </summary>
    public static WebApplication Build(GrpcSecurity security, GrpcBackend backend, Action<ILoggingBuilder> logging)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(logging);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        logging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(security.Endpoint, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (security.Tls is { } tls)
                {
                    o.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = tls.ServerCertificate,
                        ServerCertificateChain = tls.ServerChain,
                        ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                        ClientCertificateValidation = security.ClientValidator!.Validate,
                        CheckCertificateRevocation = false,
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        HandshakeTimeout = TimeSpan.FromSeconds(10),
                    });
                }
            });
            if (security.HealthEndpoint is { } health)
            {
                k.Listen(health, o => o.Protocols = HttpProtocols.Http2);
            }
        });
        builder.Services.AddSingleton(security.Resolver);
        builder.Services.AddGrpc(o =>
        {
            // Authorisation first: nothing of a service runs for a caller it denies.
            o.Interceptors.Add<AuthorizationInterceptor>();
            o.Interceptors.Add<ErrorMappingInterceptor>();
            o.MaxReceiveMessageSize = 1024 * 1024;
            // Our interceptor maps every exception of a handler; what is left is the framework's
            // own, chiefly a request body that is not a protobuf message: say so, instead of
            // "Exception was thrown by handler." alone.
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddGrpcHealthChecks()
            .AddCheck("engine", () => backend.EngineUp()
                ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("a daemon of this process holds its lease")
                : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("no daemon of this process holds a lease"));
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton(backend);
        builder.Services.AddSingleton(backend.Store);
        builder.Services.AddSingleton(backend.Compute);
        builder.Services.AddSingleton(backend.Time);
        builder.Services.AddSingleton(Options.Create(backend.Engine));
        var inventory = new ComputeInventory(backend.Compute, backend.Time).Start();
        builder.Services.AddSingleton(inventory);
        builder.Services.AddSingleton(new FenceIntake(backend.Store, backend.Time, backend.DaemonId, backend.Engine.Policy, () => inventory.Count));
        builder.Services.AddSingleton(new EvacuationQueries(backend.Store));
        builder.Services.AddSingleton(new AgentDesk(backend.Store, backend.Time, backend.Compute) { ReleaseWait = TimeSpan.FromSeconds(Math.Min(5, backend.Engine.ReleaseWait.TotalSeconds)) });
        builder.Services.AddSingleton(new SelfCheckBook(backend.Compute, backend.Time, backend.Engine.Policy.DisableAfterFailedSelfChecks));

        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Evacuationd.Server.Security");
        if (security.ClientValidator is { } validator)
        {
            validator.Logger = log;
        }
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var address = BoundAddress(app).ToString();
            if (security.Tls is { } tls)
            {
                Log.MutualTls(log, address, string.Join("; ", tls.ClientRoots.Select(c => c.Subject)), security.Mapper!.Describe());
            }
            else
            {
                Log.Plaintext(log, address);
            }
        });
        if (security.HealthEndpoint is { } healthOnly)
        {
            // The plaintext health listener serves grpc.health.v1 and nothing else.
            app.Use(async (context, next) =>
            {
                if (context.Connection.LocalPort == healthOnly.Port)
                {
                    if (!context.Request.Path.StartsWithSegments(HealthListener.HealthPathPrefix.TrimEnd('/'), StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return;
                    }
                    context.Items[HealthListener.ItemKey] = true;
                }
                await next(context).ConfigureAwait(false);
            });
        }
        app.MapGrpcService<FencingService>();
        app.MapGrpcService<OperatorService>();
        app.MapGrpcService<AgentService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>The address the started app really listens on (port 0 resolved, a wildcard address as loopback).</summary>
    public static Uri BoundAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("the gRPC endpoint has no address");
        return new Uri(first
            .Replace("[::]", "127.0.0.1", StringComparison.Ordinal)
            .Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>
    /// A plaintext Grpc:Listen (dev, demo) as an endpoint: http on a loopback address only.
    /// https (mutual TLS) needs the TLS files and is read by <see cref="GrpcSecurity.FromConfiguration"/>.
    /// </summary>
    public static IPEndPoint ParseListen(string listen)
    {
        using var plaintext = GrpcSecurity.Plaintext(listen);
        return plaintext.Endpoint;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 820, Level = LogLevel.Warning, Message = "INSECURE DEVELOPMENT MODE: gRPC on {Address} is plaintext WITHOUT TLS and WITHOUT authentication (loopback only): every caller is treated as role operator. Never run this for a real cloud; use an https Grpc:Listen with Grpc:CertFile, Grpc:KeyFile and Grpc:ClientCaFile")]
        public static partial void Plaintext(ILogger logger, string address);

        [LoggerMessage(EventId = 821, Level = LogLevel.Information, Message = "gRPC on {Address} with mutual TLS: client certificates must chain to {ClientCa}; {Mapping}")]
        public static partial void MutualTls(ILogger logger, string address, string clientCa, string mapping);
    }
}
