using System.Diagnostics;
using System.Globalization;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Server.Demo;

/// <summary>Prints the demo's live progress from the store's watch: one line per change that matters.</summary>
internal sealed class DemoProgress(IEvacuationStore store, TextWriter output, Stopwatch clock)
{
    private readonly Dictionary<string, (RecordState State, int Notes)> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostState> _hosts = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>Records owned by the killed daemon at the moment of the kill.</summary>
    public IReadOnlySet<string> Orphans { get => _orphans; set => _orphans = value; }

    public string? KilledDaemon { get => _killed; set => _killed = value; }

    private volatile IReadOnlySet<string> _orphans = new HashSet<string>();
    private volatile string? _killed;

    public void Line(string text)
    {
        lock (_gate)
        {
            output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:0.00}s] {text}");
        }
    }

    public async Task RunAsync(long afterRevision, CancellationToken ct)
    {
        try
        {
            await foreach (var change in store.WatchAsync(afterRevision, ct).ConfigureAwait(false))
            {
                Describe(change);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Describe(StoreChange change)
    {
        switch (change.Kind)
        {
            case ChangeKind.HostPut when change.Host is { } h:
                var host = h.Value;
                if (!_hosts.TryGetValue(host.Name, out var before) || before != host.State)
                {
                    _hosts[host.Name] = host.State;
                    var who = host.History.Count > 0 ? host.History[^1].Daemon : "";
                    Line($"host {host.Name} ({host.EvacuationId}) -> {host.State.Name(),-10} {who,-9} {host.Reason}");
                }
                break;
            case ChangeKind.InstancePut when change.Instance is { } v:
                var r = v.Value;
                var notes = r.History.Count;
                if (_seen.TryGetValue(r.Id, out var last) && last.State == r.State && last.Notes == notes)
                {
                    break;
                }
                _seen[r.Id] = (r.State, notes);
                var t = r.History.Count > 0 ? r.History[^1] : null;
                var from = t?.From is { Length: > 0 } f ? f : "new";
                Line($"{Short(r.InstanceName),-24} {from,10} -> {r.State.Name(),-10} {t?.Daemon,-9} {Trim(r.Reason, 110)}");
                break;
            case ChangeKind.OwnerPut when change.Key is { Kind: RecordKind.Instance } k && Orphans.Contains(k.Id):
                Line($"{"",-24} takeover: {change.Owner} claimed {k.Id} (was {KilledDaemon}'s)");
                break;
            case ChangeKind.DaemonDeleted when change.Daemon is { } d:
                Line(d.Id == KilledDaemon
                    ? $"lease {d.LeaseId:x} of {d.Id} expired: its owner keys are gone, the others may claim its records"
                    : $"{d.Id} left (lease {d.LeaseId:x} revoked or expired)");
                break;
        }
    }

    internal static string Trim(string s, int max) => s.Length <= max ? s : s[..(max - 3)] + "...";

    private static string Short(string name) => name.Length <= 24 ? name : name[..24];

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
