using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Evacuationd.Nova;
using Evacuationd.Server.Grpc;
using Evacuationd.Server.Security;
using Evacuationd.Simulator;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Server.Tests.Security;

/// <summary>
/// The real gRPC endpoint (GrpcHost) on 127.0.0.1:0 over an in-memory store and a Nova client
/// against an in-process evacsim; with https, mutual TLS from a <see cref="TestPki"/>.
/// </summary>
internal sealed class SecureEndpoint : IAsyncDisposable
{
    private readonly RunningSimulator _simulator;
    private readonly NovaComputeClient _compute;
    private readonly InMemoryEvacuationStore _store;
    private readonly GrpcSecurity _security;
    private readonly List<GrpcChannel> _channels = [];

    private SecureEndpoint(RunningSimulator simulator, NovaComputeClient compute, InMemoryEvacuationStore store, GrpcSecurity security, WebApplication app, CapturedLogs logs)
    {
        _simulator = simulator;
        _compute = compute;
        _store = store;
        _security = security;
        App = app;
        Logs = logs;
        Address = GrpcHost.BoundAddress(app);
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public CapturedLogs Logs { get; }

    /// <summary>Mutual TLS with <paramref name="pki"/>'s files; <paramref name="pki"/> null = plaintext loopback (development).</summary>
    public static Task<SecureEndpoint> StartAsync(TestPki? pki, SecurityOptions? security = null) =>
        StartAsync(pki is null ? null : new GrpcOptions
        {
            Listen = "https://127.0.0.1:0",
            CertFile = pki.ServerCertFile,
            KeyFile = pki.ServerKeyFile,
            ClientCaFile = pki.CaFile,
        }, security);

    /// <summary>The endpoint with <paramref name="tls"/>; null = plaintext loopback (development).</summary>
    public static async Task<SecureEndpoint> StartAsync(GrpcOptions? tls, SecurityOptions? security = null)
    {
        var time = TimeProvider.System;
        var simulator = await SimulatorHost.StartAsync(new SimulatorOptions { Hosts = 3, InstancesPerHost = 1, Listen = "http://127.0.0.1:0" }, time);
        var compute = new NovaComputeClient(new NovaClientOptions
        {
            AuthUrl = simulator.IdentityUrl.ToString(),
            Username = "admin",
            Password = "test",
            ProjectName = "admin",
        }, time);
        var store = new InMemoryEvacuationStore(time);
        var grpcSecurity = tls is null
            ? GrpcSecurity.Plaintext("http://127.0.0.1:0")
            : GrpcSecurity.FromOptions(tls, security ?? new SecurityOptions());
        var logs = new CapturedLogs();
        var app = GrpcHost.Build(grpcSecurity, new GrpcBackend(store, compute, time, new EngineOptions(), "test-daemon", () => true),
            b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        await app.StartAsync();
        return new SecureEndpoint(simulator, compute, store, grpcSecurity, app, logs);
    }

    /// <summary>A channel presenting <paramref name="client"/> (null: no certificate) and trusting <paramref name="trust"/> for the server.</summary>
    public GrpcChannel Channel(X509Certificate2? client, X509Certificate2? trust)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (Address.Scheme == Uri.UriSchemeHttps)
        {
            var ssl = new SslClientAuthenticationOptions();
            if (trust is not null)
            {
                var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                policy.CustomTrustStore.Add(trust);
                ssl.CertificateChainPolicy = policy;
            }
            if (client is not null)
            {
                ssl.ClientCertificateContext = SslStreamCertificateContext.Create(client, null, offline: true);
            }
            handler.SslOptions = ssl;
        }
        var channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _channels.Add(channel);
        return channel;
    }

    /// <summary>
    /// Calls <paramref name="method"/> with an empty request (its <c>host</c> field set to
    /// <paramref name="host"/> if given) and returns the status: OK, or the RpcException's code.
    /// A server stream counts as OK once its first message arrives.
    /// </summary>
    public static async Task<Status> CallAsync(GrpcChannel channel, MethodDescriptor method, string? host = null)
    {
        var request = method.InputType.Parser.ParseFrom(ByteString.Empty);
        if (host is not null && method.InputType.FindFieldByName("host") is { } field)
        {
            field.Accessor.SetValue(request, host);
        }
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20));
        try
        {
            if (method.IsServerStreaming)
            {
                var call = new Method<byte[], byte[]>(MethodType.ServerStreaming, method.Service.FullName, method.Name, bytes, bytes);
                using var stream = invoker.AsyncServerStreamingCall(call, null, options, request.ToByteArray());
                await stream.ResponseStream.MoveNext(CancellationToken.None);
            }
            else
            {
                var call = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, bytes, bytes);
                await invoker.AsyncUnaryCall(call, null, options, request.ToByteArray());
            }
            return Status.DefaultSuccess;
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _channels)
        {
            c.Dispose();
        }
        await App.StopAsync();
        await App.DisposeAsync();
        _security.Dispose();
        await _simulator.DisposeAsync();
        _compute.Dispose();
        _store.Dispose();
    }
}
