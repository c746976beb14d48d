using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;

namespace Evacuationd.Etcd;

public sealed partial class EtcdEvacuationStore
{
    public Task<WriteResult> PutHostIfAsync(HostRecord record, long expectedRevision, CancellationToken ct)
    {
        var key = _keys.Host(record.Name);
        var owner = _keys.Owner(RecordKey.Host(record.Name));
        var value = RecordCodec.Encode(record);
        var txn = new TxnRequest
        {
            Compare = { ModIs(key, expectedRevision), Absent(owner) },
            Success = { Put(key, value) },
            Failure = { Read(key), Read(owner) },
        };
        return GuardedAsync(txn, key, owner, (stored, own) =>
            stored is not null && stored.Value == value ? new Judgement.Applied(stored.ModRevision)
            : (stored?.ModRevision ?? 0) == expectedRevision && own is null ? new Judgement.NotApplied()
            : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0,
                own is not null ? $"host record of {record.Name} is owned by {own.Value.ToStringUtf8()}"
                : $"host record of {record.Name} is at revision {stored?.ModRevision ?? 0}, not {expectedRevision}")), ct);
    }

    public async Task<ClaimResult<HostRecord>> TryClaimHostAsync(DaemonLease lease, string host, long expectedRevision, HostRecord? update, CancellationToken ct)
    {
        if (update is not null && update.Name != host)
        {
            throw new ArgumentException($"the update is for host {update.Name}, not the claimed {host}", nameof(update));
        }
        var result = await ClaimAsync(lease, RecordKey.Host(host), _keys.Host(host), expectedRevision, update is null ? null : RecordCodec.Encode(update), ct).ConfigureAwait(false);
        return new ClaimResult<HostRecord>(result.Status,
            result.Record is { } kv ? new Versioned<HostRecord>(RecordCodec.DecodeHost(kv.Value), kv.ModRevision) : null,
            result.Ownership, result.CurrentOwner);
    }

    public async Task<ClaimResult<InstanceRecord>> TryClaimInstanceAsync(DaemonLease lease, string id, long expectedRevision, InstanceRecord? update, CancellationToken ct)
    {
        if (update is not null && update.Id != id)
        {
            throw new ArgumentException($"the update is for record {update.Id}, not the claimed {id}", nameof(update));
        }
        IReadOnlyList<Compare> compares = [];
        IReadOnlyList<RequestOp> ops = [];
        if (update?.Slot is not null)
        {
            var stored = (await GetInstanceAsync(id, ct).ConfigureAwait(false))?.Value;
            (compares, ops) = SlotMove(stored, update, lease.LeaseId);
        }
        var result = await ClaimAsync(lease, RecordKey.Instance(id), _keys.Instance(id), expectedRevision, update is null ? null : RecordCodec.Encode(update), ct, compares, ops).ConfigureAwait(false);
        return new ClaimResult<InstanceRecord>(result.Status,
            result.Record is { } kv ? new Versioned<InstanceRecord>(RecordCodec.DecodeInstance(kv.Value), kv.ModRevision) : null,
            result.Ownership, result.CurrentOwner);
    }

    public Task<WriteResult> UpdateHostAsync(Ownership owner, HostRecord update, long expectedRevision, bool release, CancellationToken ct) =>
        owner.Key != RecordKey.Host(update.Name)
            ? Task.FromResult(new WriteResult(WriteStatus.NotOwner, 0, $"the ownership is of {owner.Key}, not of host/{update.Name}"))
            : OwnedWriteAsync(owner, _keys.Host(update.Name), RecordCodec.Encode(update), expectedRevision, release, ct);

    public async Task<WriteResult> UpdateInstanceAsync(Ownership owner, InstanceRecord update, long expectedRevision, bool release, CancellationToken ct)
    {
        if (owner.Key != RecordKey.Instance(update.Id))
        {
            return new WriteResult(WriteStatus.NotOwner, 0, $"the ownership is of {owner.Key}, not of instance/{update.Id}");
        }
        // The stored record's slot decides what the write takes and frees.
        var stored = (await GetInstanceAsync(update.Id, ct).ConfigureAwait(false))?.Value;
        var slot = SlotMove(stored, update, owner.LeaseId);
        return await OwnedWriteAsync(owner, _keys.Instance(update.Id), RecordCodec.Encode(update), expectedRevision, release, ct, slot.Compares, slot.Ops).ConfigureAwait(false);
    }

    public async Task<WriteResult> CommitPlanAsync(Ownership owner, HostRecord update, long expectedRevision, IReadOnlyList<InstanceRecord> records, CancellationToken ct)
    {
        if (owner.Key != RecordKey.Host(update.Name))
        {
            return new WriteResult(WriteStatus.NotOwner, 0, $"the ownership is of {owner.Key}, not of host/{update.Name}");
        }
        var hostKey = _keys.Host(update.Name);
        var ownerKey = _keys.Owner(owner.Key);
        // Records in batches that fit a transaction, each creating only missing keys and each
        // guarded by the host's ownership; the host update goes with the last batch, so it
        // becomes visible only once every record exists (with one batch: all atomically).
        // A crash in between leaves records a successor's re-plan skips (ids are derived
        // from host, generation and instance). Re-sending a batch is harmless.
        var batches = records.Chunk(_options.PlanBatchSize).ToList();
        if (batches.Count == 0)
        {
            batches.Add([]);
        }
        var hostValue = RecordCodec.Encode(update);
        WriteResult result = new(WriteStatus.Ok);
        for (var i = 0; i < batches.Count; i++)
        {
            var last = i == batches.Count - 1;
            var txn = new TxnRequest { Failure = { Read(hostKey), Read(ownerKey) } };
            txn.Compare.AddRange(OwnedBy(ownerKey, owner.DaemonId, owner.LeaseId));
            txn.Compare.Add(ModIs(hostKey, expectedRevision));
            foreach (var r in batches[i])
            {
                var key = _keys.Instance(r.Id);
                txn.Success.Add(new RequestOp
                {
                    RequestTxn = new TxnRequest { Compare = { Absent(key) }, Success = { Put(key, RecordCodec.Encode(r)) } },
                });
            }
            if (last)
            {
                txn.Success.Add(Put(hostKey, hostValue));
            }
            result = await GuardedAsync(txn, hostKey, ownerKey, (host, own) =>
                last && host is not null && host.Value == hostValue && IsOwner(own, owner.DaemonId, owner.LeaseId) ? new Judgement.Applied(host.ModRevision)
                : !IsOwner(own, owner.DaemonId, owner.LeaseId) ? new Judgement.Refused(new WriteResult(WriteStatus.NotOwner, 0, $"host/{update.Name} is no longer owned by {owner.DaemonId}"))
                : host is null ? new Judgement.Refused(new WriteResult(WriteStatus.NotFound, 0, $"host/{update.Name} does not exist"))
                : host.ModRevision != expectedRevision ? new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"host/{update.Name} changed during planning"))
                : new Judgement.NotApplied(), ct).ConfigureAwait(false);
            if (!result.Ok)
            {
                return result;
            }
        }
        return result;
    }

    public async Task<WriteResult> DeleteInstanceIfAsync(string id, long expectedRevision, CancellationToken ct)
    {
        var key = _keys.Instance(id);
        var owner = _keys.Owner(RecordKey.Instance(id));
        var current = await GetInstanceAsync(id, ct).ConfigureAwait(false);
        if (current is null)
        {
            return new WriteResult(WriteStatus.NotFound, 0, $"record {id} does not exist");
        }
        if (current.Revision != expectedRevision || !current.Value.IsTerminal)
        {
            return new WriteResult(WriteStatus.Conflict, 0, $"record {id} changed or is not terminal");
        }
        var txn = new TxnRequest
        {
            Compare = { ModIs(key, expectedRevision), Absent(owner) },
            Success = { Delete(key) },
            Failure = { Read(key), Read(owner) },
        };
        return await GuardedAsync(txn, key, owner, (stored, own) =>
            stored is null ? new Judgement.Applied(0)
            : stored.ModRevision == expectedRevision && own is null ? new Judgement.NotApplied()
            : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"record {id} changed or is owned")), ct).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(Ownership owner, CancellationToken ct)
    {
        var ownerKey = _keys.Owner(owner.Key);
        var txn = new TxnRequest { Success = { Delete(ownerKey) } };
        txn.Compare.AddRange(OwnedBy(ownerKey, owner.DaemonId, owner.LeaseId));
        try
        {
            await _etcd.Kv.TxnAsync(txn, _etcd.Call(ct)).ConfigureAwait(false);
        }
        catch (RpcException ex) when (EtcdConnection.IsUncertain(ex))
        {
            // Best effort: if it did not apply, the owner key goes with the lease.
        }
    }

    /// <summary>
    /// An owned write: compares the owner key (value and lease) and the record's revision;
    /// with <paramref name="release"/> deletes the owner key in the same transaction.
    /// </summary>
    private Task<WriteResult> OwnedWriteAsync(Ownership owner, ByteString key, ByteString value, long expectedRevision, bool release, CancellationToken ct,
        IReadOnlyList<Compare>? extraCompares = null, IReadOnlyList<RequestOp>? extraOps = null)
    {
        var ownerKey = _keys.Owner(owner.Key);
        var txn = new TxnRequest { Success = { Put(key, value) }, Failure = { Read(key), Read(ownerKey) } };
        txn.Compare.AddRange(OwnedBy(ownerKey, owner.DaemonId, owner.LeaseId));
        txn.Compare.Add(ModIs(key, expectedRevision));
        txn.Compare.AddRange(extraCompares ?? []);
        txn.Success.AddRange(extraOps ?? []);
        if (release)
        {
            txn.Success.Add(Delete(ownerKey));
        }
        return GuardedAsync(txn, key, ownerKey, (stored, own) =>
        {
            var mine = IsOwner(own, owner.DaemonId, owner.LeaseId);
            if (stored is not null && stored.Value == value && (release ? !mine : mine))
            {
                return new Judgement.Applied(stored.ModRevision); // "already in the state I wanted"
            }
            if (!mine)
            {
                return new Judgement.Refused(new WriteResult(WriteStatus.NotOwner, 0,
                    own is null ? $"{owner.Key} has no owner" : $"{owner.Key} is owned by {own.Value.ToStringUtf8()} (lease {own.Lease:x})"));
            }
            if (stored is null)
            {
                return new Judgement.Refused(new WriteResult(WriteStatus.NotFound, 0, $"{owner.Key} does not exist"));
            }
            return stored.ModRevision == expectedRevision
                ? new Judgement.NotApplied()
                : new Judgement.Refused(new WriteResult(WriteStatus.Conflict, 0, $"{owner.Key} is at revision {stored.ModRevision}, not {expectedRevision}"));
        }, ct);
    }

    private sealed record RawClaim(ClaimStatus Status, KeyValue? Record = null, Ownership? Ownership = null, string? CurrentOwner = null);

    /// <summary>
    /// Claim: owner key absent and record at the expected revision -> owner key put with the
    /// caller's lease (and the update) in one transaction. "Already mine" (a lost answer, or a
    /// re-claim under the same lease) is a success; the update is then written as an owned write.
    /// </summary>
    private async Task<RawClaim> ClaimAsync(DaemonLease lease, RecordKey record, ByteString key, long expectedRevision, ByteString? update, CancellationToken ct,
        IReadOnlyList<Compare>? extraCompares = null, IReadOnlyList<RequestOp>? extraOps = null)
    {
        var ownerKey = _keys.Owner(record);
        var ownership = new Ownership(record, lease.DaemonId, lease.LeaseId);
        if (expectedRevision <= 0)
        {
            // Only an existing record can be claimed.
            return await GetAsync(key, ct).ConfigureAwait(false) is { } existing
                ? new RawClaim(ClaimStatus.Conflict, existing)
                : new RawClaim(ClaimStatus.NotFound);
        }
        var txn = new TxnRequest
        {
            Compare = { Absent(ownerKey), ModIs(key, expectedRevision) },
            Success = { Put(ownerKey, ByteString.CopyFromUtf8(lease.DaemonId), lease.LeaseId) },
            Failure = { Read(key), Read(ownerKey) },
        };
        if (update is not null)
        {
            txn.Success.Add(Put(key, update));
        }
        txn.Compare.AddRange(extraCompares ?? []);
        txn.Success.AddRange(extraOps ?? []);
        txn.Success.Add(Read(key));
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
                return new RawClaim(ClaimStatus.LeaseLost);
            }
            catch (RpcException ex) when (EtcdConnection.IsUncertain(ex) && !ct.IsCancellationRequested)
            {
            }
            catch (RpcException ex) when (EtcdConnection.IsRefused(ex))
            {
                throw EtcdConnection.Refused(ex);
            }
            if (response is { Succeeded: true })
            {
                return new RawClaim(ClaimStatus.Claimed, First(response.Responses[^1]), ownership);
            }
            var (stored, own) = response is not null
                ? (First(response.Responses[0]), First(response.Responses[1]))
                : await ReadPairAsync(key, ownerKey, deadline, ct).ConfigureAwait(false);
            if (stored is null)
            {
                return new RawClaim(ClaimStatus.NotFound);
            }
            if (own is not null && !IsOwner(own, lease.DaemonId, lease.LeaseId))
            {
                return new RawClaim(ClaimStatus.OwnedByOther, stored, CurrentOwner: own.Value.ToStringUtf8());
            }
            if (own is not null)
            {
                // Already mine: with an update still to write, write it as the owner.
                if (update is null || stored.Value == update)
                {
                    return new RawClaim(ClaimStatus.Claimed, stored, ownership);
                }
                if (stored.ModRevision != expectedRevision)
                {
                    return new RawClaim(ClaimStatus.Conflict, stored);
                }
                var written = await OwnedWriteAsync(ownership, key, update, expectedRevision, release: false, ct, extraCompares, extraOps).ConfigureAwait(false);
                return written.Status switch
                {
                    WriteStatus.Ok => new RawClaim(ClaimStatus.Claimed, new KeyValue { Key = key, Value = update, ModRevision = written.Revision }, ownership),
                    WriteStatus.Conflict => new RawClaim(ClaimStatus.Conflict, stored),
                    WriteStatus.LeaseLost => new RawClaim(ClaimStatus.LeaseLost),
                    WriteStatus.NotFound => new RawClaim(ClaimStatus.NotFound),
                    _ => new RawClaim(ClaimStatus.OwnedByOther, stored),
                };
            }
            if (stored.ModRevision != expectedRevision)
            {
                return new RawClaim(ClaimStatus.Conflict, stored);
            }
            if (response is not null)
            {
                // Compares failed although nothing differs now: it changed in between.
                return new RawClaim(ClaimStatus.Conflict, stored);
            }
            if (_time.GetUtcNow() > deadline)
            {
                throw new StoreUnavailableException($"etcd did not confirm a claim of {record} within {_options.WriteResolveTimeout}");
            }
            await BackoffAsync(round, ct).ConfigureAwait(false);
        }
    }
}
