using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Api;

public sealed record RecordView(InstanceRecord Record, long Revision, string? Owner);

public sealed record HostView(HostRecord Host, long Revision, string? Owner, RecordCounts Counts);

public sealed record DaemonView(DaemonInfo Daemon, int OwnedRecords);

/// <summary>What operators read: records, hosts, daemons, with their owners.</summary>
public sealed class EvacuationQueries(IEvacuationStore store)
{
    public async Task<IReadOnlyList<RecordView>> ListRecordsAsync(string? host, RecordState? state, long generation, CancellationToken ct)
    {
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        return snap.Instances
            .Where(v => host is null || v.Value.SourceHost == host)
            .Where(v => state is null || v.Value.State == state)
            .Where(v => generation == 0 || v.Value.FenceGeneration == generation)
            .OrderBy(v => v.Value.SourceHost, StringComparer.Ordinal)
            .ThenBy(v => v.Value.FenceGeneration)
            .ThenByDescending(v => v.Value.Priority)
            .ThenBy(v => v.Value.InstanceName, StringComparer.Ordinal)
            .ThenBy(v => v.Value.Id, StringComparer.Ordinal)
            .Select(v => View(v, snap))
            .ToList();
    }

    /// <summary>By record id, or by instance uuid (its newest record).</summary>
    public async Task<RecordView> GetRecordAsync(string idOrUuid, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(idOrUuid))
        {
            throw new RequestValidationException(["id is required (a record id or an instance uuid)"]);
        }
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        var match = snap.Instances.FirstOrDefault(v => v.Value.Id == idOrUuid)
                    ?? snap.Instances
                        .Where(v => string.Equals(v.Value.InstanceUuid, idOrUuid, StringComparison.OrdinalIgnoreCase))
                        .OrderByDescending(v => v.Value.CreatedAt)
                        .ThenByDescending(v => v.Value.FenceGeneration)
                        .FirstOrDefault();
        return match is null
            ? throw new NotFoundException($"no record with id or instance uuid '{RequestValidationException.Shown(idOrUuid)}'")
            : View(match, snap);
    }

    public async Task<IReadOnlyList<HostView>> ListHostsAsync(CancellationToken ct)
    {
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        return snap.Hosts.OrderBy(h => h.Value.Name, StringComparer.Ordinal).Select(h => HostViewOf(h, snap)).ToList();
    }

    public async Task<HostView> GetHostAsync(string host, CancellationToken ct)
    {
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        var h = snap.Hosts.FirstOrDefault(v => v.Value.Name == host);
        return h is null ? throw new NotFoundException($"host '{RequestValidationException.Shown(host)}' has never been fenced") : HostViewOf(h, snap);
    }

    public async Task<IReadOnlyList<DaemonView>> ListDaemonsAsync(CancellationToken ct)
    {
        var snap = await store.ReadSnapshotAsync(ct).ConfigureAwait(false);
        var owned = snap.Owners.Values.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        // The store's own listing knows when each lease expires.
        var daemons = await store.ListDaemonsAsync(ct).ConfigureAwait(false);
        return daemons
            .OrderBy(d => d.Id, StringComparer.Ordinal)
            .Select(d => new DaemonView(d, owned.GetValueOrDefault(d.Id)))
            .ToList();
    }

    internal static RecordView View(Versioned<InstanceRecord> v, StoreSnapshot snap) =>
        new(v.Value, v.Revision, snap.Owners.GetValueOrDefault(RecordKey.Instance(v.Value.Id)));

    internal static HostView HostViewOf(Versioned<HostRecord> h, StoreSnapshot snap)
    {
        var records = snap.Instances
            .Select(v => v.Value)
            .Where(r => r.SourceHost == h.Value.Name && r.FenceGeneration == h.Value.FenceGeneration);
        return new HostView(h.Value, h.Revision, snap.Owners.GetValueOrDefault(RecordKey.Host(h.Value.Name)), RecordCounts.Of(records));
    }
}
