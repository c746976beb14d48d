using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Evacuationd.Etcd;

/// <summary>
/// One connection to an etcd cluster (all endpoints, round robin with failover), with the
/// library's automatic retries turned off: a transaction re-sent blindly could apply twice
/// (FACTS.md). Exposes the raw generated clients; the store owns every loop and retry.
/// With https endpoints, TLS checks etcd against <see cref="EtcdOptions.CaFile"/> only and
/// offers the client certificate (<see cref="EtcdTls"/>); with a user name, every call carries
/// an etcd auth token (<see cref="EtcdAuthInterceptor"/>, innermost of the interceptors).
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly EtcdClient _client;

    private readonly TimeProvider _time;

    private readonly EtcdTls? _tls;

    private readonly EtcdAuthInterceptor? _auth;

    public EtcdConnection(EtcdOptions options, TimeProvider time, Interceptor[]? interceptors = null)
    {
        _time = time;
        _tls = options.UsesTls ? EtcdTls.Load(options, time: time) : null;
        _auth = options.UsesAuth ? new EtcdAuthInterceptor(options.Username!, options.Password!, options.RequestTimeout, time) : null;
        // Ours last: innermost, so the token goes on whatever the others send, and a TLS failure
        // is explained before anyone sees it (Authenticate included).
        // Outermost: a call its caller cancelled ends as OperationCanceledException, whatever is inside.
        var chain = new List<Interceptor> { new CallerCancellation() };
        chain.AddRange(interceptors ?? []);
        if (_auth is not null)
        {
            chain.Add(_auth);
        }
        if (_tls is not null)
        {
            chain.Add(new EtcdTlsExplainer(_tls));
        }
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
            if (_tls is not null)
            {
                // dotnet-etcd set Insecure credentials and a plain handler: TLS with our own checks instead.
                var unused = o.HttpHandler;
                o.HttpHandler = _tls.CreateHandler();
                o.DisposeHttpClient = true;
                o.Credentials = ChannelCredentials.SecureSsl;
                unused?.Dispose();
            }
        }, interceptors: [.. chain]);
        var connection = _client.GetConnection();
        _auth?.Attach(connection.AuthClient);
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

    public void Dispose()
    {
        _client.Dispose();
        _auth?.Dispose();
        _tls?.Dispose();
    }

    /// <summary>A failure after which the request may or may not have been applied.</summary>
    public static bool IsUncertain(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unknown or StatusCode.Internal or StatusCode.Aborted
        || (ex.StatusCode == StatusCode.Cancelled && !ex.Status.Detail.Contains("canceled by the client", StringComparison.OrdinalIgnoreCase));

    /// <summary>etcd refused the caller (no permission on the prefix, no or wrong credentials): a configuration problem.</summary>
    public static bool IsRefused(RpcException ex) => ex.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated;

    public static Core.Store.StoreUnavailableException Refused(RpcException ex) =>
        new($"etcd refused the request ({ex.Status.StatusCode}: {ex.Status.Detail}): check Etcd:Username and its permissions on Etcd:Prefix, or the client certificate", ex);

    /// <summary>etcd refused a put bound to a lease that no longer exists: the whole transaction failed.</summary>
    public static bool IsLeaseNotFound(RpcException ex) =>
        ex.StatusCode == StatusCode.NotFound && ex.Status.Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A unary call cancelled by its caller's token ends with <see cref="OperationCanceledException"/>
/// (what the engine expects of every store: the lease was lost, the daemon stops), not with
/// RpcException(Cancelled), which read as a failure of the record's handling ("runner failed
/// unexpectedly"). A missed deadline stays RpcException(DeadlineExceeded): an unknown outcome.
/// </summary>
internal sealed class CallerCancellation : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Translate(call.ResponseAsync, context.Options.CancellationToken), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>The caller's own cancellation as such, from any RpcException(Cancelled) while its token is cancelled.</summary>
    public static async Task<T> Translate<T>(Task<T> response, CancellationToken ct)
    {
        try
        {
            return await response.ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("the etcd call was cancelled by its caller", ex, ct);
        }
    }
}
