using System.Runtime.CompilerServices;
using Etcdserverpb;
using Evacuationd.Core.Store;
using Grpc.Core;
using Mvccpb;

namespace Evacuationd.Etcd;

public sealed partial class EtcdEvacuationStore
{
    /// <summary>
    /// Every change after <paramref name="afterRevision"/>, from a raw etcd watch on the whole
    /// prefix (with previous values, for deletes by lease expiry). A broken stream (member
    /// killed, leader change) is reopened from the last revision seen, on whichever endpoint
    /// answers; a compacted start revision throws <see cref="WatchCompactedException"/>.
    /// </summary>
    public async IAsyncEnumerable<StoreChange> WatchAsync(long afterRevision, [EnumeratorCancellation] CancellationToken ct)
    {
        var next = afterRevision + 1;
        for (var round = 0; !ct.IsCancellationRequested; round++)
        {
            using var call = _etcd.Watch.Watch(cancellationToken: ct);
            var opened = await TryOpenAsync(call, _keys.All, next, ct).ConfigureAwait(false);
            while (opened)
            {
                WatchResponse response;
                try
                {
                    if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                    {
                        break;
                    }
                    response = call.ResponseStream.Current;
                }
                catch (Exception ex) when (ex is not OperationCanceledException && !ct.IsCancellationRequested)
                {
                    break; // the stream broke (member gone, leader change): reopen from `next`
                }
                catch (RpcException ex) when (ct.IsCancellationRequested)
                {
                    // The caller ended the watch (a resync, a stop): not a broken stream.
                    throw new OperationCanceledException("the watch was cancelled by its caller", ex, ct);
                }
                if (response.CompactRevision > 0)
                {
                    throw new WatchCompactedException(next - 1, response.CompactRevision);
                }
                if (response.Canceled)
                {
                    break;
                }
                foreach (var e in response.Events)
                {
                    if (Change(e) is { } change)
                    {
                        yield return change;
                    }
                    next = Math.Max(next, e.Kv.ModRevision + 1);
                }
                round = 0;
            }
            if (ct.IsCancellationRequested)
            {
                yield break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * Math.Pow(2, Math.Min(round, 5)))), _time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<bool> TryOpenAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, Google.Protobuf.ByteString prefix, long start, CancellationToken ct)
    {
        try
        {
            await call.RequestStream.WriteAsync(new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = prefix, RangeEnd = KeySchema.RangeEnd(prefix), StartRevision = start, PrevKv = true, ProgressNotify = true },
            }, ct).ConfigureAwait(false);
            return true;
        }
        catch (RpcException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        catch (RpcException ex) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("the watch was cancelled by its caller", ex, ct);
        }
        catch (InvalidOperationException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>An etcd event as a store change; keys of no interest give null.</summary>
    private StoreChange? Change(Event e)
    {
        var put = e.Type == Event.Types.EventType.Put;
        var kv = e.Kv;
        var parsed = _keys.Parse(kv.Key);
        var rev = kv.ModRevision;
        return parsed.Kind switch
        {
            KeyKind.Host when put => new StoreChange(rev, ChangeKind.HostPut, RecordKey.Host(parsed.Id), Host: new(RecordCodec.DecodeHost(kv.Value), rev)),
            KeyKind.Host => new StoreChange(rev, ChangeKind.HostDeleted, RecordKey.Host(parsed.Id)),
            KeyKind.Instance when put => new StoreChange(rev, ChangeKind.InstancePut, RecordKey.Instance(parsed.Id), Instance: new(RecordCodec.DecodeInstance(kv.Value), rev)),
            KeyKind.Instance => new StoreChange(rev, ChangeKind.InstanceDeleted, RecordKey.Instance(parsed.Id)),
            KeyKind.HostOwner => new StoreChange(rev, put ? ChangeKind.OwnerPut : ChangeKind.OwnerDeleted, RecordKey.Host(parsed.Id), Owner: OwnerOf(e)),
            KeyKind.InstanceOwner => new StoreChange(rev, put ? ChangeKind.OwnerPut : ChangeKind.OwnerDeleted, RecordKey.Instance(parsed.Id), Owner: OwnerOf(e)),
            // A key deleted by lease expiry has Lease 0 in the event: the lease is in the previous value.
            KeyKind.Daemon when put => new StoreChange(rev, ChangeKind.DaemonPut, Daemon: RecordCodec.DecodeDaemon(kv.Value) with { LeaseId = kv.Lease }),
            KeyKind.Daemon when e.PrevKv is { } prev => new StoreChange(rev, ChangeKind.DaemonDeleted, Daemon: RecordCodec.DecodeDaemon(prev.Value) with { LeaseId = prev.Lease }),
            KeyKind.Daemon => new StoreChange(rev, ChangeKind.DaemonDeleted, Daemon: new Core.Records.DaemonInfo(parsed.Id, "", "", default)),
            KeyKind.Control when put => new StoreChange(rev, ChangeKind.ControlPut, Control: new(RecordCodec.DecodeControl(kv.Value), rev)),
            KeyKind.Request when put => new StoreChange(rev, ChangeKind.RequestPut, RecordKey.Instance(parsed.Id), Request: new(RecordCodec.DecodeRequest(kv.Value), rev)),
            KeyKind.Request => new StoreChange(rev, ChangeKind.RequestDeleted, RecordKey.Instance(parsed.Id)),
            KeyKind.Slot when int.TryParse(parsed.Id, System.Globalization.CultureInfo.InvariantCulture, out var n) =>
                new StoreChange(rev, put ? ChangeKind.SlotPut : ChangeKind.SlotDeleted, Owner: put ? kv.Value.ToStringUtf8() : e.PrevKv?.Value.ToStringUtf8(), Slot: n),
            _ => null,
        };
    }

    private static string? OwnerOf(Event e) =>
        e.Type == Event.Types.EventType.Put ? e.Kv.Value.ToStringUtf8() : e.PrevKv?.Value.ToStringUtf8();
}
