using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Planning;

/// <summary>What the owner of a host record does next.</summary>
public abstract record HostStep
{
    private HostStep() { }

    /// <summary>Force the service down (S1: before any evacuate call), then decide again.</summary>
    public sealed record ForceDown(ComputeService Service) : HostStep;

    /// <summary>Disable the service with <paramref name="Reason"/>, then decide again.</summary>
    public sealed record Disable(ComputeService Service, string Reason) : HostStep;

    /// <summary>List the host's servers and commit its instance records with the host update.</summary>
    public sealed record Plan(ComputeService Service) : HostStep;

    /// <summary>Persist <paramref name="Next"/>.</summary>
    public sealed record Write(HostRecord Next) : HostStep;

    /// <summary>Persist nothing; decide again at <paramref name="Until"/> or on a change.</summary>
    public sealed record Wait(DateTimeOffset Until, string Why) : HostStep;

    /// <summary>The fencing needs nothing more from a daemon.</summary>
    public sealed record Finished : HostStep;
}

/// <summary>The pure decisions of a host's fencing: planning and completion.</summary>
public static class HostWorkflow
{
    /// <summary>Planning: the service must be forced down (and disabled) before the plan.</summary>
    public static HostStep DecidePlanning(HostRecord h, ComputeService? service, PlanningOptions options, DateTimeOffset now, string daemon)
    {
        if (h.State != HostState.Planning)
        {
            return new HostStep.Finished();
        }
        if (h.NotBefore is { } notBefore && now < notBefore)
        {
            return new HostStep.Wait(notBefore, $"planning round {h.PlanningAttempts + 1} not before {notBefore:O}");
        }
        if (service is null)
        {
            return new HostStep.Write((h with { Error = "no nova-compute service" }).MoveTo(HostState.Failed,
                $"Nova has no nova-compute service on host '{h.Name}': nothing can be evacuated; check that the fenced name is Nova's service host name", now, daemon));
        }
        if (!service.ForcedDown)
        {
            return new HostStep.ForceDown(service);
        }
        if (options.DisableOnFence && service.Enabled)
        {
            return new HostStep.Disable(service, DisabledReason(h));
        }
        return new HostStep.Plan(service);
    }

    /// <summary>The host update committed together with the planned records.</summary>
    public static HostRecord Planned(HostRecord h, ComputeService service, IReadOnlyList<InstanceRecord> records, DateTimeOffset now, string daemon)
    {
        var counts = RecordCounts.Of(records);
        var next = h with
        {
            ServiceId = service.Id,
            ForcedDown = true,
            Planned = true,
            NotBefore = null,
            Error = null,
            Counts = counts,
        };
        return next.MoveTo(HostState.Evacuating,
            $"service forced down; {counts.Total} instance(s) found, {counts.Accepted} to evacuate, {counts.Skipped} skipped", now, daemon);
    }

    /// <summary>A planning round failed (Nova unreachable, ...): back off, or fail the fencing.</summary>
    public static HostRecord PlanningFailed(HostRecord h, string error, PlanningOptions options, DateTimeOffset now, string daemon)
    {
        var attempts = h.PlanningAttempts + 1;
        if (attempts >= options.MaxPlanningAttempts)
        {
            return (h with { PlanningAttempts = attempts, Error = error }).MoveTo(HostState.Failed,
                $"planning failed {attempts} times, last: {error}; report the fence again once Nova answers", now, daemon);
        }
        var notBefore = now + Backoff.After(h.EvacuationId, attempts, options.PlanningBackoff, options.PlanningBackoffMax);
        return (h with { PlanningAttempts = attempts, Error = error, NotBefore = notBefore })
            .Note($"planning round {attempts} failed: {error}; next round not before {notBefore:O}", now, daemon);
    }

    /// <summary>Evacuating: ends when every record of the fencing is terminal.</summary>
    public static HostStep DecideCompletion(HostRecord h, IReadOnlyCollection<InstanceRecord> records, DateTimeOffset now, string daemon)
    {
        if (h.State != HostState.Evacuating)
        {
            return new HostStep.Finished();
        }
        var counts = RecordCounts.Of(records);
        if (counts.Terminal < counts.Total || counts.Total < h.Counts.Total)
        {
            return new HostStep.Wait(DateTimeOffset.MaxValue, $"{counts.Terminal} of {Math.Max(counts.Total, h.Counts.Total)} records ended");
        }
        var summary = $"{counts.Done} done, {counts.Failed} failed, {counts.Skipped} skipped, {counts.Cancelled} cancelled";
        var next = h with { Counts = counts };
        return counts.Failed > 0
            ? new HostStep.Write(next.MoveTo(HostState.Failed, $"fencing ended with failures: {summary}; see `evacctl list --host {h.Name} --state failed`", now, daemon))
            : new HostStep.Write(next.MoveTo(HostState.Done, $"fencing ended: {summary}", now, daemon));
    }

    /// <summary>
    /// An ended fencing whose records changed since (an operator retried some): back to
    /// evacuating while any runs, or ended again with the new counts.
    /// </summary>
    public static HostStep DecideReopen(HostRecord h, IReadOnlyCollection<InstanceRecord> records, DateTimeOffset now, string daemon)
    {
        if (h.State is not (HostState.Done or HostState.Failed))
        {
            return new HostStep.Finished();
        }
        var counts = RecordCounts.Of(records);
        if (!ChangedByRetry(h, counts, records.Count == 0 ? DateTimeOffset.MinValue : records.Max(r => r.UpdatedAt)))
        {
            return new HostStep.Finished(); // unchanged, or only ended records deleted by retention
        }
        var running = records.Count(r => !r.IsTerminal);
        if (running > 0)
        {
            return new HostStep.Write(h.MoveTo(HostState.Evacuating, $"reopened: {running} record(s) of this fencing run again (retried by an operator)", now, daemon));
        }
        // Every retried record already ended: record the new outcome directly.
        var summary = $"{counts.Done} done, {counts.Failed} failed, {counts.Skipped} skipped, {counts.Cancelled} cancelled";
        return new HostStep.Write((h with { Counts = counts }).MoveTo(counts.Failed > 0 ? HostState.Failed : HostState.Done,
            $"re-evaluated after retried records ended: {summary}", now, daemon));
    }

    /// <summary>
    /// Whether the records of an ended fencing (their <paramref name="counts"/> now, the latest
    /// change of any of them) were retried by an operator since it ended: one runs again, more
    /// ended in some state than at the end, or the counts differ and a record changed after
    /// the end. Retention deleting ended records only lowers counts of records that ended
    /// before the fencing did: no change, and the fencing's outcome stays as written.
    /// </summary>
    public static bool ChangedByRetry(HostRecord h, RecordCounts counts, DateTimeOffset latestRecordUpdate) =>
        counts.RetriedSince(h.Counts) || (counts != h.Counts && latestRecordUpdate > h.StateSince);

    public static string DisabledReason(HostRecord h) =>
        $"evacuationd: fenced by {h.Source.Name()} at {h.FencedAt:yyyy-MM-ddTHH:mm:ssZ} ({h.EvacuationId})";
}
