using System.Runtime.CompilerServices;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Api;

public enum WatchEventKind
{
    /// <summary>A record as it is when the watch starts.</summary>
    Snapshot,
    /// <summary>The starting snapshot is complete.</summary>
    SnapshotEnd,
    /// <summary>A record changed (state or owner).</summary>
    Updated,
    /// <summary>A host fencing changed.</summary>
    Host,
}

public sealed record WatchEvent(WatchEventKind Kind, RecordView? Record = null, HostView? Host = null);

/// <summary>
/// Live progress for operators: the matching records and hosts now, then every change.
/// With "until done" it ends once every matching fencing and record is terminal.
/// </summary>
public static class RecordWatch
{
    public static async IAsyncEnumerable<WatchEvent> WatchAsync(IEvacuationStore store, string? host, bool untilDone, [EnumeratorCancellation] CancellationToken ct)
    {
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        var records = snap.Instances.Where(v => Matches(v.Value, host)).ToDictionary(v => v.Value.Id, StringComparer.Ordinal);
        var hosts = snap.Hosts.Where(h => host is null || h.Value.Name == host).ToDictionary(h => h.Value.Name, StringComparer.Ordinal);
        var owners = new Dictionary<RecordKey, string>(snap.Owners);

        foreach (var h in hosts.Values.OrderBy(h => h.Value.Name, StringComparer.Ordinal))
        {
            yield return new WatchEvent(WatchEventKind.Host, Host: HostView(h, records.Values, owners));
        }
        foreach (var r in records.Values.OrderBy(r => r.Value.SourceHost, StringComparer.Ordinal).ThenBy(r => r.Value.Id, StringComparer.Ordinal))
        {
            yield return new WatchEvent(WatchEventKind.Snapshot, RecordView(r, owners));
        }
        yield return new WatchEvent(WatchEventKind.SnapshotEnd);
        if (untilDone && IsDone(host, hosts, records))
        {
            yield break;
        }

        await foreach (var change in store.WatchAsync(snap.Revision, ct).ConfigureAwait(false))
        {
            WatchEvent? e = null;
            switch (change.Kind)
            {
                case ChangeKind.InstancePut when change.Instance is { } v && Matches(v.Value, host):
                    records[v.Value.Id] = v;
                    e = new WatchEvent(WatchEventKind.Updated, RecordView(v, owners));
                    break;
                case ChangeKind.OwnerPut or ChangeKind.OwnerDeleted when change.Key is { } k:
                    if (change.Kind == ChangeKind.OwnerPut)
                    {
                        owners[k] = change.Owner ?? "";
                    }
                    else
                    {
                        owners.Remove(k);
                    }
                    if (k.Kind == RecordKind.Instance && records.TryGetValue(k.Id, out var owned))
                    {
                        e = new WatchEvent(WatchEventKind.Updated, RecordView(owned, owners));
                    }
                    break;
                case ChangeKind.HostPut when change.Host is { } h && (host is null || h.Value.Name == host):
                    hosts[h.Value.Name] = h;
                    e = new WatchEvent(WatchEventKind.Host, Host: HostView(h, records.Values, owners));
                    break;
            }
            if (e is not null)
            {
                yield return e;
            }
            if (untilDone && IsDone(host, hosts, records))
            {
                yield break;
            }
        }
    }

    private static bool Matches(InstanceRecord r, string? host) => host is null || r.SourceHost == host;

    private static bool IsDone(string? host, Dictionary<string, Versioned<HostRecord>> hosts, Dictionary<string, Versioned<InstanceRecord>> records)
    {
        if (host is not null && !hosts.ContainsKey(host))
        {
            return false; // not fenced yet: wait for it
        }
        return hosts.Values.All(h => h.Value.IsTerminal) && records.Values.All(r => r.Value.IsTerminal);
    }

    private static RecordView RecordView(Versioned<InstanceRecord> v, Dictionary<RecordKey, string> owners) =>
        new(v.Value, v.Revision, owners.GetValueOrDefault(RecordKey.Instance(v.Value.Id)));

    private static HostView HostView(Versioned<HostRecord> h, IEnumerable<Versioned<InstanceRecord>> records, Dictionary<RecordKey, string> owners) =>
        new(h.Value, h.Revision, owners.GetValueOrDefault(RecordKey.Host(h.Value.Name)),
            RecordCounts.Of(records.Select(r => r.Value).Where(r => r.SourceHost == h.Value.Name && r.FenceGeneration == h.Value.FenceGeneration)));
}
