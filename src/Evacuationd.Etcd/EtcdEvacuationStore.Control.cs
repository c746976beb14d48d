using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Google.Protobuf;
using Mvccpb;

namespace Evacuationd.Etcd;

public sealed partial class EtcdEvacuationStore
{
    public async Task<Versioned<ControlState>?> GetControlAsync(CancellationToken ct)
    {
        var kv = await GetAsync(_keys.Control, ct).ConfigureAwait(false);
        return kv is null ? null : new Versioned<ControlState>(RecordCodec.DecodeControl(kv.Value), kv.ModRevision);
    }

    public Task<WriteResult> PutControlIfAsync(ControlState control, long expectedRevision, CancellationToken ct)
    {
        var key = _keys.Control;
        var value = RecordCodec.Encode(control);
        var txn = new TxnRequest
        {
            Compare = { ModIs(key, expectedRevision) },
            Success = { Put(key, value) },
            Failure = { Read(key), Read(key) },
        };
        return GuardedAsync(txn, key, key, (stored, _) =>
            stored is not null && stored.Value == value ? new Judgement.Applied(stored.ModRevision)
            : (stored?.ModRevision ?? 0) == expectedRevision ? new Judgement.NotApplied()
            : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"the control record is at revision {stored?.ModRevision ?? 0}, not {expectedRevision}")), ct);
    }

    public Task<WriteResult> CommitFenceAsync(HostRecord host, long expectedHostRevision, ControlState control, long expectedControlRevision, CancellationToken ct)
    {
        var hostKey = _keys.Host(host.Name);
        var ownerKey = _keys.Owner(RecordKey.Host(host.Name));
        var controlKey = _keys.Control;
        var hostValue = RecordCodec.Encode(host);
        var txn = new TxnRequest
        {
            Compare = { ModIs(hostKey, expectedHostRevision), Absent(ownerKey), ModIs(controlKey, expectedControlRevision) },
            Success = { Put(hostKey, hostValue), Put(controlKey, RecordCodec.Encode(control)) },
            Failure = { Read(hostKey), Read(ownerKey) },
        };
        return GuardedAsync(txn, hostKey, ownerKey, (stored, own) =>
            stored is not null && stored.Value == hostValue ? new Judgement.Applied(stored.ModRevision)
            : (stored?.ModRevision ?? 0) == expectedHostRevision && own is null ? new Judgement.NotApplied()
            : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"host record of {host.Name} changed or is owned")), ct);
    }

    public async Task<WriteResult> PutRequestAsync(OperatorRequest request, CancellationToken ct)
    {
        var txn = new TxnRequest { Success = { Put(_keys.Request(request.RecordId), RecordCodec.Encode(request)) } };
        var response = await RetryReadAsync(() => _etcd.Kv.TxnAsync(txn, _etcd.Call(ct)).ResponseAsync, _time.GetUtcNow() + _options.WriteResolveTimeout, ct).ConfigureAwait(false);
        return new WriteResult(WriteStatus.Ok, response.Header.Revision); // a put of the same request twice is harmless
    }

    public Task<WriteResult> DeleteRequestIfAsync(string recordId, long expectedRevision, CancellationToken ct)
    {
        var key = _keys.Request(recordId);
        var txn = new TxnRequest
        {
            Compare = { ModIs(key, expectedRevision) },
            Success = { Delete(key) },
            Failure = { Read(key), Read(key) },
        };
        return GuardedAsync(txn, key, key, (stored, _) =>
            stored is null ? new Judgement.Applied(0)
            : stored.ModRevision == expectedRevision ? new Judgement.NotApplied()
            : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"the request for {recordId} was replaced")), ct);
    }

    /// <summary>Compares and operations that move the in-flight slot from <paramref name="stored"/>'s to <paramref name="next"/>'s.</summary>
    private (IReadOnlyList<Compare> Compares, IReadOnlyList<RequestOp> Ops) SlotMove(InstanceRecord? stored, InstanceRecord next, long leaseId)
    {
        var compares = new List<Compare>();
        var ops = new List<RequestOp>();
        var id = ByteString.CopyFromUtf8(next.Id);
        if (stored?.Slot is { } old && old != next.Slot)
        {
            var key = _keys.Slot(old);
            ops.Add(new RequestOp
            {
                RequestTxn = new TxnRequest
                {
                    Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = id } },
                    Success = { Delete(key) },
                },
            });
        }
        if (next.Slot is { } taken && taken != stored?.Slot)
        {
            var key = _keys.Slot(taken);
            compares.Add(Absent(key));
            ops.Add(Put(key, id, leaseId));
        }
        return (compares, ops);
    }
}
