using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Evacuationd.Etcd;

/// <summary>
/// One connection to an etcd cluster (all endpoints, round robin with failover), with the
/// library's automatic retries turned off: a transaction re-sent blindly could apply twice
/// (FACTS.md). Exposes the raw generated clients; the store owns every loop and retry.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly EtcdClient _client;

    private readonly TimeProvider _time;

    public EtcdConnection(EtcdOptions options, TimeProvider time, Interceptor[]? interceptors = null)
    {
        _time = time;
        _client = new EtcdClient(options.Endpoints, configureChannelOptions: o =>
        {
            o.ServiceConfig?.MethodConfigs.Clear();
            if (o.ServiceConfig is not null)
            {
                o.ServiceConfig.RetryThrottling = null;
            }
            // A missed deadline must surface as RpcException(DeadlineExceeded), an unknown
            // outcome, not as the caller's own cancellation (dotnet-etcd turns this on).
            o.ThrowOperationCanceledOnCancellation = false;
            o.InitialReconnectBackoff = TimeSpan.FromMilliseconds(100);
            o.MaxReconnectBackoff = TimeSpan.FromSeconds(2);
        }, interceptors: interceptors);
        var connection = _client.GetConnection();
        Kv = connection.KVClient;
        Lease = connection.LeaseClient;
        Watch = connection.WatchClient;
        Maintenance = connection.MaintenanceClient;
        RequestTimeout = options.RequestTimeout;
    }

    public KV.KVClient Kv { get; }

    public Lease.LeaseClient Lease { get; }

    public Watch.WatchClient Watch { get; }

    public Maintenance.MaintenanceClient Maintenance { get; }

    public TimeSpan RequestTimeout { get; }

    /// <summary>Call options of one request: its deadline and the caller's cancellation.</summary>
    public CallOptions Call(CancellationToken ct) => new(deadline: _time.GetUtcNow().UtcDateTime + RequestTimeout, cancellationToken: ct);

    public void Dispose() => _client.Dispose();

    /// <summary>A failure after which the request may or may not have been applied.</summary>
    public static bool IsUncertain(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unknown or StatusCode.Internal or StatusCode.Aborted
        || (ex.StatusCode == StatusCode.Cancelled && !ex.Status.Detail.Contains("canceled by the client", StringComparison.OrdinalIgnoreCase));

    /// <summary>etcd refused a put bound to a lease that no longer exists: the whole transaction failed.</summary>
    public static bool IsLeaseNotFound(RpcException ex) =>
        ex.StatusCode == StatusCode.NotFound && ex.Status.Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase);
}
