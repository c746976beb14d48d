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

    /// <summary>A client over comma-separated client URLs (<c>http://127.0.0.1:port,...</c>).</summary>
    public static EtcdClient Create(string clientUrls)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientUrls);
        return new EtcdClient(clientUrls, configureChannelOptions: ConfigureChannel);
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
