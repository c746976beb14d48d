using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>How the records of one fencing stand.</summary>
internal readonly record struct FencingCounts(int Total, int Waiting, int InFlight, int Done, int Failed, int Skipped, int Cancelled)
{
    /// <summary>Records that reached a terminal state.</summary>
    public int Ended => Done + Failed + Skipped + Cancelled;
}

/// <summary>One host fencing (host and fence generation) as a watch knows it.</summary>
internal sealed class Fencing(string key, string hostName, ulong generation)
{
    private readonly Dictionary<string, RecordState> states = new(StringComparer.Ordinal);

    /// <summary>The evacuation id, "compute-01:1".</summary>
    public string Key { get; } = key;

    public string HostName { get; } = hostName;

    public ulong Generation { get; } = generation;

    /// <summary>The latest host record of this fencing, if the daemon sent one.</summary>
    public Host? Host { get; internal set; }

    /// <summary>Changed while the watch was live (after the first snapshot).</summary>
    public bool ChangedLive { get; internal set; }

    internal Dictionary<string, RecordState> States => states;

    /// <summary>
    /// Worth a progress bar: it is not over (host not released, or a record not ended), or it
    /// changed while watching. A long-finished fencing in the snapshot is not.
    /// </summary>
    public bool Visible =>
        ChangedLive
        || (Host is not null && Host.State != HostState.Released)
        || states.Values.Any(s => !FencingBoard.IsTerminal(s));

    /// <summary>
    /// From the records seen (the host's own counts are sent only when the host record
    /// changes); from the host's counts while no record of the fencing was seen.
    /// </summary>
    public FencingCounts Counts
    {
        get
        {
            if (states.Count == 0)
            {
                var c = Host?.Counts ?? new RecordCounts();
                return new FencingCounts((int)c.Total, (int)c.Accepted, (int)c.InFlight, (int)c.Done, (int)c.Failed, (int)c.Skipped, (int)c.Cancelled);
            }

            int Count(Func<RecordState, bool> match) => states.Values.Count(match);
            return new FencingCounts(
                Math.Max(states.Count, (int)(Host?.Counts?.Total ?? 0)),
                Count(s => s is RecordState.Accepted or RecordState.Unspecified),
                Count(s => s is RecordState.Evacuating or RecordState.Rebuilding or RecordState.Retrying),
                Count(s => s == RecordState.Done),
                Count(s => s == RecordState.Failed),
                Count(s => s == RecordState.Skipped),
                Count(s => s == RecordState.Cancelled));
        }
    }
}

/// <summary>What an event changed on the board.</summary>
/// <param name="Fencing">The fencing the event is about, if any.</param>
/// <param name="HostStateChanged">A host event whose state differs from the one known before (or the first one).</param>
internal readonly record struct BoardChange(Fencing? Fencing, bool HostStateChanged);

/// <summary>
/// The fencings a watch shows, in the order they first appeared, with their records' states.
/// Applying an event again (a snapshot repeated after a reconnect) changes nothing. Pure.
/// </summary>
internal sealed class FencingBoard
{
    private readonly Dictionary<string, Fencing> byKey = new(StringComparer.Ordinal);
    private readonly List<Fencing> ordered = [];
    private bool live;

    public IReadOnlyList<Fencing> Fencings => ordered;

    public static bool IsTerminal(RecordState state) =>
        state is RecordState.Done or RecordState.Failed or RecordState.Skipped or RecordState.Cancelled;

    public static string KeyOf(Record r) => r.EvacuationId.Length > 0 ? r.EvacuationId : $"{r.SourceHost}:{r.FenceGeneration}";

    public static string KeyOf(Host h) => h.EvacuationId.Length > 0 ? h.EvacuationId : $"{h.Name}:{h.FenceGeneration}";

    public BoardChange Apply(RecordEvent e)
    {
        switch (e.Kind)
        {
            case RecordEvent.Types.Kind.SnapshotEnd:
                live = true;
                return default;
            case RecordEvent.Types.Kind.Snapshot or RecordEvent.Types.Kind.Updated when e.Record is { } record:
            {
                var fencing = Get(KeyOf(record), record.SourceHost, record.FenceGeneration);
                fencing.States[record.Id] = record.State;
                fencing.ChangedLive |= live && e.Kind == RecordEvent.Types.Kind.Updated;
                return new BoardChange(fencing, false);
            }

            case RecordEvent.Types.Kind.Removed when e.Record is { } record:
            {
                var fencing = Get(KeyOf(record), record.SourceHost, record.FenceGeneration);
                fencing.States.Remove(record.Id);
                fencing.ChangedLive |= live;
                return new BoardChange(fencing, false);
            }

            case RecordEvent.Types.Kind.Host when e.Host is { } host:
            {
                var fencing = Get(KeyOf(host), host.Name, host.FenceGeneration);
                var changed = fencing.Host is null || fencing.Host.State != host.State;
                fencing.ChangedLive |= live && changed;
                fencing.Host = host;
                return new BoardChange(fencing, changed);
            }

            default:
                return default;
        }
    }

    private Fencing Get(string key, string host, ulong generation)
    {
        if (!byKey.TryGetValue(key, out var fencing))
        {
            fencing = new Fencing(key, host, generation);
            byKey[key] = fencing;
            ordered.Add(fencing);
        }

        return fencing;
    }
}
