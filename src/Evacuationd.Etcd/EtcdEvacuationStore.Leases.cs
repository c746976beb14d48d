using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Grpc.Core;

namespace Evacuationd.Etcd;

public sealed partial class EtcdEvacuationStore
{
    private readonly SemaphoreSlim _keepAliveGate = new(1, 1);
    private AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>? _keepAlive;

    public async Task<DaemonLease> GrantLeaseAsync(DaemonInfo daemon, TimeSpan ttl, CancellationToken ct)
    {
        var seconds = (long)Math.Ceiling(ttl.TotalSeconds);
        LeaseGrantResponse grant;
        try
        {
            // A grant whose answer was lost leaves at most an unused lease that expires by
            // itself: trying again is safe (also after an expired auth token).
            grant = await RetryReadAsync(() => _etcd.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = seconds }, _etcd.Call(ct)).ResponseAsync,
                _time.GetUtcNow() + _options.RequestTimeout * 3, ct).ConfigureAwait(false);
        }
        catch (RpcException ex) when (EtcdConnection.IsRefused(ex))
        {
            throw EtcdConnection.Refused(ex);
        }
        if (!string.IsNullOrEmpty(grant.Error))
        {
            throw new StoreUnavailableException($"etcd refused a lease: {grant.Error}");
        }
        // The membership key is bound to the lease: listed exactly while the lease lives.
        var put = new TxnRequest { Success = { Put(_keys.Daemon(daemon.Id), RecordCodec.Encode(daemon with { LeaseId = grant.ID }), grant.ID) } };
        try
        {
            await _etcd.Kv.TxnAsync(put, _etcd.Call(ct)).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            await TryRevokeAsync(grant.ID).ConfigureAwait(false);
            throw new StoreUnavailableException($"etcd did not register daemon {daemon.Id}: {ex.Status.Detail}", ex);
        }
        return new DaemonLease(daemon.Id, grant.ID, TimeSpan.FromSeconds(grant.TTL));
    }

    /// <summary>
    /// One renewal over the shared keepalive stream (opened on demand, reopened after an
    /// error: the connection fails over between endpoints). A TTL of 0 or less means the
    /// lease is gone.
    /// </summary>
    public async Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct)
    {
        await _keepAliveGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _keepAlive ??= _etcd.Lease.LeaseKeepAlive(cancellationToken: _disposed.Token);
            await _keepAlive.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease.LeaseId }, ct).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.RequestTimeout);
            if (!await _keepAlive.ResponseStream.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new StoreUnavailableException("etcd ended the keepalive stream");
            }
            var answer = _keepAlive.ResponseStream.Current;
            return answer.TTL <= 0 ? new KeepAliveResult(false, TimeSpan.Zero) : new KeepAliveResult(true, TimeSpan.FromSeconds(answer.TTL));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The stream is unusable now (or its answer order is): drop it, the next call opens a new one.
            _keepAlive?.Dispose();
            _keepAlive = null;
            throw ex as StoreUnavailableException ?? new StoreUnavailableException($"lease keepalive failed: {ex.Message}", ex);
        }
        finally
        {
            _keepAliveGate.Release();
        }
    }

    public async Task RevokeLeaseAsync(DaemonLease lease, CancellationToken ct)
    {
        try
        {
            await _etcd.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease.LeaseId }, _etcd.Call(ct)).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            // Already gone.
        }
        catch (RpcException ex) when (EtcdConnection.IsUncertain(ex))
        {
            throw new StoreUnavailableException($"etcd did not revoke lease {lease.LeaseId:x}: {ex.Status.Detail}", ex);
        }
    }

    public async Task<IReadOnlyList<DaemonInfo>> ListDaemonsAsync(CancellationToken ct)
    {
        var kvs = await RangeAllAsync(_keys.DaemonsPrefix, 0, ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var daemons = new List<DaemonInfo>();
        foreach (var kv in kvs.Kvs)
        {
            var d = RecordCodec.DecodeDaemon(kv.Value) with { LeaseId = kv.Lease };
            try
            {
                var ttl = await _etcd.Lease.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = kv.Lease }, _etcd.Call(ct)).ConfigureAwait(false);
                d = d with { LeaseExpiresAt = ttl.TTL > 0 ? now + TimeSpan.FromSeconds(ttl.TTL) : now };
            }
            catch (RpcException ex) when (EtcdConnection.IsUncertain(ex))
            {
                // Expiry unknown: list the daemon without it.
            }
            daemons.Add(d);
        }
        return daemons.OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
    }

    private async Task TryRevokeAsync(long leaseId)
    {
        try
        {
            await _etcd.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, _etcd.Call(CancellationToken.None)).ConfigureAwait(false);
        }
        catch (RpcException)
        {
        }
    }
}
