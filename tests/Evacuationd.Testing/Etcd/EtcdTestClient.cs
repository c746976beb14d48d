using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using dotnet_etcd;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Evacuationd.Testing.Etcd;

/// <summary>
/// The raw etcd client the fixture uses (and hands to tests): dotnet-etcd's connection with
/// its automatic retries turned off (a blindly re-sent transaction could apply twice) and
/// a short reconnect backoff (the default makes the first RPC wait about 1.2 s).
/// Use <c>client.GetConnection().KVClient</c> etc. for the generated gRPC clients.
/// </summary>
public static class EtcdTestClient
{
    /// <summary>First reconnect backoff of the channel.</summary>
    public static readonly TimeSpan InitialReconnectBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest reconnect backoff of the channel.</summary>
    public static readonly TimeSpan MaxReconnectBackoff = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A client over comma-separated client URLs (<c>http://127.0.0.1:port,...</c>); with
    /// <paramref name="tls"/> (https URLs) it trusts only that CA and offers its client certificate.
    /// </summary>
    public static EtcdClient Create(string clientUrls, EtcdClusterTls? tls = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientUrls);
        if (tls is null)
        {
            return new EtcdClient(clientUrls, configureChannelOptions: ConfigureChannel);
        }
        return new EtcdClient(clientUrls, configureChannelOptions: o =>
        {
            ConfigureChannel(o);
            ConfigureTls(o, tls);
        });
    }

    /// <summary>TLS on the channel: the cluster's CA as the only root, its client certificate offered.</summary>
    public static void ConfigureTls(GrpcChannelOptions options, EtcdClusterTls tls)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tls);
        var ca = X509CertificateLoader.LoadCertificateFromFile(tls.CaFile);
        var client = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                    {
                        return false;
                    }
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return chain.Build(leaf);
                },
            },
        };
        var unused = options.HttpHandler;
        options.HttpHandler = handler;
        options.DisposeHttpClient = true;
        options.Credentials = ChannelCredentials.SecureSsl;
        unused?.Dispose();
    }

    /// <summary>
    /// The channel settings: no retries, no retry throttling, short reconnect backoff, and a
    /// missed deadline reported as <c>RpcException(DeadlineExceeded)</c>: dotnet-etcd 9.1.0 sets
    /// <see cref="GrpcChannelOptions.ThrowOperationCanceledOnCancellation"/>, which turns a missed
    /// deadline into a <see cref="TaskCanceledException"/> that looks like the caller's own cancellation.
    /// </summary>
    public static void ConfigureChannel(GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ServiceConfig is { } config)
        {
            config.MethodConfigs.Clear();
            config.RetryThrottling = null;
        }
        options.InitialReconnectBackoff = InitialReconnectBackoff;
        options.MaxReconnectBackoff = MaxReconnectBackoff;
        options.ThrowOperationCanceledOnCancellation = false;
    }

    /// <summary>A failed call that says nothing about whether etcd is up to it (deadline missed, no connection).</summary>
    public static bool IsTransient(Exception e, CancellationToken callerToken) => e switch
    {
        RpcException => true,
        OperationCanceledException => !callerToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>UTF-8 bytes of a key or value.</summary>
    public static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>The range end that selects every key starting with <paramref name="prefix"/>.</summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var b = prefix.ToByteArray();
        for (var i = b.Length - 1; i >= 0; i--)
        {
            if (b[i] < 0xff)
            {
                b[i]++;
                return ByteString.CopyFrom(b, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0); // the whole keyspace
    }

    /// <summary>A deadline <paramref name="timeout"/> from now, for a gRPC call.</summary>
    public static DateTime Deadline(TimeSpan timeout) => DateTime.UtcNow + timeout;
}
