using Etcdserverpb;
using Evacuationd.Core.Store;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Mvccpb;

namespace Evacuationd.Etcd;

/// <summary>
/// The store port on etcd v3 (see <see cref="KeySchema"/> for every key). Each owned write
/// is one transaction comparing the owner key's value and lease and the record's
/// mod_revision (S3). A write whose answer is lost (timeout, leader change) is resolved by
/// re-reading: already applied (or already mine) is success, untouched is sent again, anything
/// else is the lost race it is. Lease keepalive and watch run on the raw etcd streams.
/// </summary>
public sealed partial class EtcdEvacuationStore : IEvacuationStore, IDisposable
{
    private readonly EtcdOptions _options;
    private readonly TimeProvider _time;
    private readonly EtcdConnection _etcd;
    private readonly KeySchema _keys;
    private readonly CancellationTokenSource _disposed = new();

    public EtcdEvacuationStore(EtcdOptions options, TimeProvider time)
        : this(options, time, null)
    {
    }

    /// <param name="interceptors">Test hook: client interceptors (e.g. to lose answers).</param>
    internal EtcdEvacuationStore(EtcdOptions options, TimeProvider time, Interceptor[]? interceptors)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _time = time;
        _etcd = new EtcdConnection(options, time, interceptors);
        _keys = new KeySchema(options.Prefix);
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _keepAlive?.Dispose();
        _etcd.Dispose();
        _disposed.Dispose();
        _keepAliveGate.Dispose();
    }

    /// <summary>How a write's effect looks when re-read.</summary>
    private abstract record Judgement
    {
        private Judgement() { }

        /// <summary>The store already shows the write (at this revision).</summary>
        public sealed record Applied(long Revision) : Judgement;

        /// <summary>The store shows the state before the write: send it again.</summary>
        public sealed record NotApplied : Judgement;

        /// <summary>The write cannot apply: a lost race.</summary>
        public sealed record Refused(WriteResult Result) : Judgement;
    }

    /// <summary>
    /// Sends a guarded transaction whose failure branch reads <paramref name="recordKey"/> and
    /// <paramref name="ownerKey"/>; on failure or on an unknown outcome, <paramref name="judge"/>
    /// decides from those two keys.
    /// </summary>
    private async Task<WriteResult> GuardedAsync(TxnRequest txn, ByteString recordKey, ByteString ownerKey, Func<KeyValue?, KeyValue?, Judgement> judge, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + _options.WriteResolveTimeout;
        for (var round = 1; ; round++)
        {
            TxnResponse? response = null;
            try
            {
                response = await _etcd.Kv.TxnAsync(txn, _etcd.Call(ct)).ConfigureAwait(false);
            }
            catch (RpcException ex) when (EtcdConnection.IsLeaseNotFound(ex))
            {
                return new WriteResult(WriteStatus.LeaseLost, 0, "etcd: requested lease not found");
            }
            catch (RpcException ex) when (EtcdConnection.IsUncertain(ex) && !ct.IsCancellationRequested)
            {
                // Unknown outcome: decide from what etcd shows once it answers again.
            }
            catch (RpcException ex) when (EtcdConnection.IsRefused(ex))
            {
                throw EtcdConnection.Refused(ex);
            }
            if (response is { Succeeded: true })
            {
                return new WriteResult(WriteStatus.Ok, response.Header.Revision);
            }
            var (record, owner) = response is not null
                ? (First(response.Responses[0]), First(response.Responses[1]))
                : await ReadPairAsync(recordKey, ownerKey, deadline, ct).ConfigureAwait(false);
            switch (judge(record, owner))
            {
                case Judgement.Applied a:
                    return new WriteResult(WriteStatus.Ok, a.Revision);
                case Judgement.Refused r:
                    return r.Result;
                case Judgement.NotApplied when response is not null:
                    // The compares failed yet the keys look untouched: they changed in between.
                    return new WriteResult(WriteStatus.Conflict, 0, "the record changed during the write");
            }
            if (_time.GetUtcNow() > deadline)
            {
                throw new StoreUnavailableException($"etcd did not confirm a write within {_options.WriteResolveTimeout}");
            }
            await BackoffAsync(round, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Both keys at one revision (a transaction of two reads), retried until etcd answers or the deadline.</summary>
    private async Task<(KeyValue? A, KeyValue? B)> ReadPairAsync(ByteString a, ByteString b, DateTimeOffset deadline, CancellationToken ct)
    {
        var read = new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestRange = new RangeRequest { Key = a } },
                new RequestOp { RequestRange = new RangeRequest { Key = b } },
            },
        };
        var response = await RetryReadAsync(() => _etcd.Kv.TxnAsync(read, _etcd.Call(ct)).ResponseAsync, deadline, ct).ConfigureAwait(false);
        return (First(response.Responses[0]), First(response.Responses[1]));
    }

    /// <summary>A read, retried on failures that say nothing about the data, until <paramref name="deadline"/>.</summary>
    private async Task<T> RetryReadAsync<T>(Func<Task<T>> read, DateTimeOffset deadline, CancellationToken ct)
    {
        for (var round = 1; ; round++)
        {
            try
            {
                return await read().ConfigureAwait(false);
            }
            catch (RpcException ex) when (EtcdConnection.IsRefused(ex))
            {
                throw EtcdConnection.Refused(ex);
            }
            catch (RpcException ex) when (EtcdConnection.IsUncertain(ex) && !ct.IsCancellationRequested)
            {
                if (_time.GetUtcNow() > deadline)
                {
                    throw new StoreUnavailableException($"etcd did not answer: {ex.Status.StatusCode}: {ex.Status.Detail}", ex);
                }
            }
            await BackoffAsync(round, ct).ConfigureAwait(false);
        }
    }

    private Task<T> ReadAsync<T>(Func<Task<T>> read, CancellationToken ct) =>
        RetryReadAsync(read, _time.GetUtcNow() + _options.WriteResolveTimeout, ct);

    private Task BackoffAsync(int round, CancellationToken ct) =>
        Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * Math.Pow(2, Math.Min(round, 5)))), _time, ct);

    private static KeyValue? First(ResponseOp op) => op.ResponseRange?.Kvs.FirstOrDefault();

    private static bool IsOwner(KeyValue? owner, string daemonId, long leaseId) =>
        owner is not null && owner.Lease == leaseId && owner.Value.ToStringUtf8() == daemonId;

    private static Compare ModIs(ByteString key, long revision) => revision == 0
        ? new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
        : new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision };

    private static Compare Absent(ByteString key) =>
        new() { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 };

    private static IEnumerable<Compare> OwnedBy(ByteString ownerKey, string daemonId, long leaseId) =>
    [
        new Compare { Key = ownerKey, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = ByteString.CopyFromUtf8(daemonId) },
        new Compare { Key = ownerKey, Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = leaseId },
    ];

    private static RequestOp Put(ByteString key, ByteString value, long lease = 0) =>
        new() { RequestPut = new PutRequest { Key = key, Value = value, Lease = lease } };

    private static RequestOp Delete(ByteString key) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = key } };

    private static RequestOp Read(ByteString key) => new() { RequestRange = new RangeRequest { Key = key } };
}
