using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// The latest known version of every watched record and host. Tells whether an event
/// brings anything new (a snapshot sent again after a reconnect mostly does not), and
/// counts how the records ended.
/// </summary>
internal sealed class WatchTracker
{
    private readonly Dictionary<string, Record> records = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Host> hosts = new(StringComparer.Ordinal);

    /// <summary>Applies an event; true when it changed what is known (worth a line).</summary>
    public bool Apply(RecordEvent e)
    {
        switch (e.Kind)
        {
            case RecordEvent.Types.Kind.Snapshot or RecordEvent.Types.Kind.Updated when e.Record is { } record:
                if (records.TryGetValue(record.Id, out var known) && known.Equals(record))
                {
                    return false;
                }

                records[record.Id] = record;
                return true;
            case RecordEvent.Types.Kind.Removed when e.Record is { } removed:
                return records.Remove(removed.Id);
            case RecordEvent.Types.Kind.Host when e.Host is { } host:
                if (hosts.TryGetValue(host.Name, out var knownHost) && knownHost.Equals(host))
                {
                    return false;
                }

                hosts[host.Name] = host;
                return true;
            default:
                return false;
        }
    }

    public WatchSummary Summary()
    {
        int Count(RecordState state) => records.Values.Count(r => r.State == state);
        var done = Count(RecordState.Done);
        var failed = Count(RecordState.Failed);
        var skipped = Count(RecordState.Skipped);
        var cancelled = Count(RecordState.Cancelled);
        return new WatchSummary(done, failed, skipped, cancelled, records.Count - done - failed - skipped - cancelled);
    }
}

/// <summary>How the watched records stand (at the end of the stream).</summary>
internal sealed record WatchSummary(int Done, int Failed, int Skipped, int Cancelled, int Unfinished)
{
    public override string ToString() =>
        $"done {Done}, failed {Failed}, skipped {Skipped}, cancelled {Cancelled}"
        + (Unfinished > 0 ? $", unfinished {Unfinished}" : string.Empty);
}
