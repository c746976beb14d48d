using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Api;

/// <summary>What a check-in tells the agent: the host's fencing and what it must not run.</summary>
/// <param name="Host">The host's latest fencing, or null when it was never fenced.</param>
/// <param name="EvacuatedAway">
/// Records of the current (not yet released) fencing whose instance Nova was asked to rebuild
/// elsewhere, or may have been: such a guest must not run on this host any more.
/// </param>
public sealed record AgentCheckIn(HostRecord? Host, IReadOnlyList<InstanceRecord> EvacuatedAway);

/// <summary>The start gate's answer (S7).</summary>
public sealed record StartGate(bool MayStart, string Reason, int PendingRecords);

/// <summary>One action of the split-brain guard on the compute node.</summary>
public sealed record GuardAction(string InstanceUuid, string Action, bool Ok, string Detail);

/// <summary>
/// The daemon's side of the compute-node agent (evacuationd-agent): check-in with the
/// split-brain guard's list, the guard's report, the nova-compute start gate and the
/// host's release (S7). Reads are plain; the only writes are notes on the host record
/// (compare-and-swap, retried) and the release, which goes through <see cref="OperatorActions"/>.
/// </summary>
public sealed class AgentDesk(IEvacuationStore store, TimeProvider time, IComputeClient compute)
{
    private const int MaxRounds = 8;

    /// <summary>
    /// How long a release waits for Nova to accept forced_down=false. Short (default 5 s, never
    /// above Engine:ReleaseWait): the agent asks again every round, so a refusal is better
    /// answered soon than waited out.
    /// </summary>
    public TimeSpan ReleaseWait { get; init; } = TimeSpan.FromSeconds(5);

    public async Task<AgentCheckIn> CheckInAsync(string host, CancellationToken ct)
    {
        Validate(host);
        var current = await store.GetHostAsync(host, ct).ConfigureAwait(false);
        if (current is null || current.Value.State == HostState.Released)
        {
            // Never fenced, or back in service: the guard ran clean before the gate let
            // nova-compute start, and instances may have been moved back here since.
            return new AgentCheckIn(current?.Value, []);
        }
        var records = await store.ListInstancesAsync(host, current.Value.FenceGeneration, ct).ConfigureAwait(false);
        var away = records.Select(r => r.Value).Where(MayRunElsewhere).OrderBy(r => r.InstanceUuid, StringComparer.Ordinal).ToList();
        return new AgentCheckIn(current.Value, away);
    }

    /// <summary>
    /// True once an evacuate call for the record was made or may have been made: from then on
    /// Nova may rebuild the instance on another host, so the guest must not run here.
    /// </summary>
    public static bool MayRunElsewhere(InstanceRecord r) =>
        r.Attempt > 0 || r.State is RecordState.Evacuating or RecordState.Rebuilding or RecordState.Done;

    /// <summary>
    /// Notes what the guard did on the host's record (history), when there is one. False when
    /// the note could not be written (a daemon owns the host record for a while): the caller
    /// logs the report either way.
    /// </summary>
    public async Task<bool> ReportGuardAsync(string host, IReadOnlyList<GuardAction> actions, bool clean, string by, CancellationToken ct)
    {
        Validate(host);
        if (actions.Count == 0 && clean)
        {
            return true; // nothing happened: no history entry every check-in
        }
        var what = string.Join("; ", actions.Select(a => $"{a.Action} {a.InstanceUuid}: {(a.Ok ? "ok" : "FAILED")}{(a.Detail.Length > 0 ? " (" + a.Detail + ")" : "")}"));
        var note = clean
            ? $"split-brain guard on {host} ({by}): {what}; no evacuated guest runs there any more"
            : $"split-brain guard on {host} ({by}) is NOT clean: {(what.Length > 0 ? what : "an evacuated guest still runs there")}";
        return await NoteAsync(host, note, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// May nova-compute start on the host? Only when the host was never fenced or was released,
    /// or when its last fencing and every record of it ended and the guard ran clean.
    /// </summary>
    public async Task<StartGate> GetStartGateAsync(string host, bool guardClean, CancellationToken ct)
    {
        Validate(host);
        var current = await store.GetHostAsync(host, ct).ConfigureAwait(false);
        if (current is null)
        {
            return new StartGate(true, $"{host} has never been fenced", 0);
        }
        var h = current.Value;
        if (h.State == HostState.Released)
        {
            return new StartGate(true, $"{host} was returned to service after fencing {h.EvacuationId}", 0);
        }
        var records = await store.ListInstancesAsync(host, h.FenceGeneration, ct).ConfigureAwait(false);
        var pending = records.Count(r => !r.Value.IsTerminal);
        if (!h.IsTerminal || pending > 0)
        {
            return new StartGate(false, $"fencing {h.EvacuationId} of {host} is {h.State.Name()} with {pending} record(s) not ended: nova-compute must not start before its evacuations are over", pending);
        }
        if (!guardClean)
        {
            return new StartGate(false, $"fencing {h.EvacuationId} ended {h.State.Name()}, but the split-brain guard on {host} has not run clean: an evacuated guest may still run there", 0);
        }
        return new StartGate(true, $"fencing {h.EvacuationId} ended {h.State.Name()} and the guard ran clean: nova-compute may start (the host stays forced down until it is released)", 0);
    }

    /// <summary>The agent's release request: the same as `evacctl release-host`.</summary>
    public Task<HostRecord> RequestReleaseAsync(string host, string by, CancellationToken ct)
    {
        Validate(host);
        return new OperatorActions(store, time, compute) { ReleaseWait = ReleaseWait }.ReleaseHostAsync(host, by, ct);
    }

    // The host record is owned only while a daemon plans or closes a fencing: a few short
    // retries get past that; a note is history, never a reason to fail the agent's call.
    private async Task<bool> NoteAsync(string host, string note, CancellationToken ct)
    {
        for (var round = 1; round <= MaxRounds; round++)
        {
            var current = await store.GetHostAsync(host, ct).ConfigureAwait(false);
            if (current is null)
            {
                return false;
            }
            if (current.Value.History.LastOrDefault()?.Reason == note)
            {
                return true; // the same report as last round (e.g. a destroy that keeps failing): noted once
            }
            var next = current.Value.Note(note, time.GetUtcNow(), "agent");
            if ((await store.PutHostIfAsync(next, current.Revision, ct).ConfigureAwait(false)).Ok)
            {
                return true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50 * round), time, ct).ConfigureAwait(false);
        }
        return false;
    }

    private static void Validate(string host)
    {
        RequestValidationException.RequireHostName(host);
    }
}
