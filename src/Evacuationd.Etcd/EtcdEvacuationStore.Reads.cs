using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Google.Protobuf;
using Mvccpb;

namespace Evacuationd.Etcd;

public sealed partial class EtcdEvacuationStore
{
    private const int PageSize = 1000;

    private sealed record RangeResult(long Revision, List<KeyValue> Kvs);

    public async Task<Versioned<HostRecord>?> GetHostAsync(string host, CancellationToken ct)
    {
        var kv = await GetAsync(_keys.Host(host), ct).ConfigureAwait(false);
        return kv is null ? null : new Versioned<HostRecord>(RecordCodec.DecodeHost(kv.Value), kv.ModRevision);
    }

    public async Task<IReadOnlyList<Versioned<HostRecord>>> ListHostsAsync(CancellationToken ct)
    {
        var range = await RangeAllAsync(_keys.HostsPrefix, 0, ct).ConfigureAwait(false);
        return range.Kvs.Select(kv => new Versioned<HostRecord>(RecordCodec.DecodeHost(kv.Value), kv.ModRevision))
            .OrderBy(h => h.Value.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<Versioned<InstanceRecord>?> GetInstanceAsync(string id, CancellationToken ct)
    {
        var kv = await GetAsync(_keys.Instance(id), ct).ConfigureAwait(false);
        return kv is null ? null : new Versioned<InstanceRecord>(RecordCodec.DecodeInstance(kv.Value), kv.ModRevision);
    }

    public async Task<IReadOnlyList<Versioned<InstanceRecord>>> ListInstancesAsync(string? host, long generation, CancellationToken ct)
    {
        var range = await RangeAllAsync(_keys.InstancesPrefix(host, generation), 0, ct).ConfigureAwait(false);
        return range.Kvs.Select(kv => new Versioned<InstanceRecord>(RecordCodec.DecodeInstance(kv.Value), kv.ModRevision))
            .OrderBy(v => v.Value.SourceHost, StringComparer.Ordinal)
            .ThenBy(v => v.Value.FenceGeneration)
            .ThenBy(v => v.Value.Id, StringComparer.Ordinal)
            .ToList();
    }

    public async Task<string?> GetOwnerAsync(RecordKey key, CancellationToken ct) =>
        (await GetAsync(_keys.Owner(key), ct).ConfigureAwait(false))?.Value.ToStringUtf8();

    /// <summary>Everything under the prefix, read page by page at one pinned revision.</summary>
    public async Task<StoreSnapshot> ReadSnapshotAsync(CancellationToken ct)
    {
        var range = await RangeAllAsync(_keys.All, 0, ct).ConfigureAwait(false);
        var hosts = new List<Versioned<HostRecord>>();
        var instances = new List<Versioned<InstanceRecord>>();
        var owners = new Dictionary<RecordKey, string>();
        var daemons = new List<DaemonInfo>();
        var requests = new List<Versioned<OperatorRequest>>();
        var slots = new Dictionary<int, string>();
        Versioned<ControlState>? control = null;
        foreach (var kv in range.Kvs)
        {
            var parsed = _keys.Parse(kv.Key);
            switch (parsed.Kind)
            {
                case KeyKind.Host:
                    hosts.Add(new Versioned<HostRecord>(RecordCodec.DecodeHost(kv.Value), kv.ModRevision));
                    break;
                case KeyKind.Instance:
                    instances.Add(new Versioned<InstanceRecord>(RecordCodec.DecodeInstance(kv.Value), kv.ModRevision));
                    break;
                case KeyKind.HostOwner:
                    owners[RecordKey.Host(parsed.Id)] = kv.Value.ToStringUtf8();
                    break;
                case KeyKind.InstanceOwner:
                    owners[RecordKey.Instance(parsed.Id)] = kv.Value.ToStringUtf8();
                    break;
                case KeyKind.Daemon:
                    daemons.Add(RecordCodec.DecodeDaemon(kv.Value) with { LeaseId = kv.Lease });
                    break;
                case KeyKind.Control:
                    control = new Versioned<ControlState>(RecordCodec.DecodeControl(kv.Value), kv.ModRevision);
                    break;
                case KeyKind.Request:
                    requests.Add(new Versioned<OperatorRequest>(RecordCodec.DecodeRequest(kv.Value), kv.ModRevision));
                    break;
                case KeyKind.Slot when int.TryParse(parsed.Id, System.Globalization.CultureInfo.InvariantCulture, out var n):
                    slots[n] = kv.Value.ToStringUtf8();
                    break;
            }
        }
        return new StoreSnapshot(range.Revision, hosts, instances, owners, daemons) { Control = control, Requests = requests, Slots = slots };
    }

    private async Task<KeyValue?> GetAsync(ByteString key, CancellationToken ct)
    {
        var response = await ReadAsync(() => _etcd.Kv.RangeAsync(new RangeRequest { Key = key }, _etcd.Call(ct)).ResponseAsync, ct).ConfigureAwait(false);
        return response.Kvs.FirstOrDefault();
    }

    /// <summary>Every key with <paramref name="prefix"/>, paged, all pages at the revision of the first (or at <paramref name="revision"/>).</summary>
    private async Task<RangeResult> RangeAllAsync(ByteString prefix, long revision, CancellationToken ct)
    {
        var end = KeySchema.RangeEnd(prefix);
        var kvs = new List<KeyValue>();
        var from = prefix;
        while (true)
        {
            var request = new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision };
            var page = await ReadAsync(() => _etcd.Kv.RangeAsync(request, _etcd.Call(ct)).ResponseAsync, ct).ConfigureAwait(false);
            if (revision == 0)
            {
                revision = page.Header.Revision;
            }
            kvs.AddRange(page.Kvs);
            if (!page.More || page.Kvs.Count == 0)
            {
                return new RangeResult(revision, kvs);
            }
            // Next page: just after the last key of this one.
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.ToByteArray(), 0]);
        }
    }
}
