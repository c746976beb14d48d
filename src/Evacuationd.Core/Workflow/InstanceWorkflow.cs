using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;

namespace Evacuationd.Core.Workflow;

/// <summary>
/// The pure decision "given this record and what Nova shows now, what next?".
/// No I/O, no clock: the engine observes Nova, calls <see cref="Decide"/> (or
/// <see cref="AfterCall"/> once an evacuate call answered) and carries the step out.
///
/// Path: accepted -> evacuating (attempt recorded before the call) -> rebuilding -> done;
/// a failed attempt -> retrying (backoff) -> evacuating ...; attempts exhausted -> failed;
/// nothing to do -> skipped; operator cancel while nothing is in flight -> cancelled.
///
/// Resume rule (S4): a record found in <see cref="RecordState.Evacuating"/> may have had its
/// call reach Nova or not. Nova is asked first: a migration newer than the attempt's baseline
/// means the call arrived and is followed; with no trace, a new attempt starts only after
/// Nova has shown nothing for <see cref="WorkflowOptions.CallSettle"/>. A migration still in
/// progress is never answered with another evacuate call.
/// </summary>
public static class InstanceWorkflow
{
    /// <summary>vm_states Nova accepts for evacuate.</summary>
    public static readonly IReadOnlySet<string> EvacuableVmStates =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "active", "stopped", "error" };

    public static InstanceStep Decide(InstanceRecord r, InstanceObservation nova, DecisionContext ctx) => r.State switch
    {
        RecordState.Accepted => Start(r, nova, ctx, prefix: null),
        RecordState.Retrying => Retry(r, nova, ctx),
        RecordState.Evacuating => Reconcile(r, nova, ctx),
        RecordState.Rebuilding => Follow(r, nova, ctx),
        _ => new InstanceStep.Finished(),
    };

    /// <summary>
    /// The step after this daemon's own evacuate call for the attempt in <paramref name="r"/>
    /// (state evacuating) answered.
    /// </summary>
    public static InstanceStep AfterCall(InstanceRecord r, EvacuateOutcome outcome, DecisionContext ctx)
    {
        var now = ctx.Now;
        switch (outcome.Kind)
        {
            case EvacuateOutcomeKind.Accepted:
                return Write((r with { AttemptRequestId = outcome.RequestId, OutcomeUnknownSince = null, Error = null })
                    .MoveTo(RecordState.Rebuilding, $"Nova accepted attempt {r.Attempt} (request {outcome.RequestId ?? "without id"})", now, ctx.Daemon, outcome.RequestId));
            case EvacuateOutcomeKind.Rejected when outcome.StatusCode == 404:
                return Write((r with { Error = outcome.Message, AttemptRequestId = outcome.RequestId })
                    .MoveTo(RecordState.Skipped, $"Nova says the instance does not exist (404): {outcome.Message}", now, ctx.Daemon, outcome.RequestId));
            case EvacuateOutcomeKind.Rejected when outcome.StatusCode is 401 or 403:
                return Write((r with { Error = outcome.Message, AttemptRequestId = outcome.RequestId })
                    .MoveTo(RecordState.Failed, $"Nova refused evacuate ({outcome.StatusCode}): {outcome.Message}. Check the credentials' roles and Nova's policy, then retry", now, ctx.Daemon, outcome.RequestId));
            case EvacuateOutcomeKind.Rejected:
                return FailAttempt(r with { AttemptRequestId = outcome.RequestId },
                    $"Nova rejected attempt {r.Attempt} ({outcome.StatusCode}): {outcome.Message}", ctx, outcome.RequestId);
            default:
                // Checkpoint: the call may or may not have reached Nova. Note it durably so that
                // whoever decides next waits CallSettle from now before concluding anything.
                return Write((r with { OutcomeUnknownSince = now, Error = outcome.Message })
                    .Note($"outcome of attempt {r.Attempt} unknown ({outcome.Message}); reconciling with Nova before anything else", now, ctx.Daemon, outcome.RequestId));
        }
    }

    private static InstanceStep Retry(InstanceRecord r, InstanceObservation nova, DecisionContext ctx)
    {
        if (r.CancelRequested)
        {
            return Write(r.MoveTo(RecordState.Cancelled, "cancelled by an operator while waiting to retry", ctx.Now, ctx.Daemon));
        }
        if (r.NotBefore is { } notBefore && ctx.Now < notBefore)
        {
            return new InstanceStep.Wait(notBefore, $"backoff until {notBefore:O} before attempt {r.Attempt + 1}");
        }
        return Start(r, nova, ctx, prefix: null);
    }

    /// <summary>Accepted (or due for retry): check the instance, then record a new attempt.</summary>
    private static InstanceStep Start(InstanceRecord r, InstanceObservation nova, DecisionContext ctx, string? prefix)
    {
        var now = ctx.Now;
        var o = ctx.Options;
        if (r.CancelRequested)
        {
            return Write(r.MoveTo(RecordState.Cancelled, "cancelled by an operator before any attempt was in flight", now, ctx.Daemon));
        }
        var server = nova.Server;
        if (server is null)
        {
            return Write(r.MoveTo(RecordState.Skipped, Join(prefix, "the instance no longer exists in Nova"), now, ctx.Daemon));
        }
        if (!SameHost(server.Host, r.SourceHost))
        {
            return Write(r.MoveTo(RecordState.Skipped,
                Join(prefix, $"the instance is on {server.Host ?? "no host"}, not on the fenced host {r.SourceHost}: nothing to evacuate"), now, ctx.Daemon));
        }
        if (!EvacuableVmStates.Contains(server.VmState))
        {
            return Write(r.MoveTo(RecordState.Skipped,
                Join(prefix, $"vm_state '{server.VmState}' cannot be evacuated (Nova evacuates active, stopped or error instances); reset the instance's state to error and retry it"), now, ctx.Daemon));
        }
        if (server.TaskState is { } task)
        {
            var deadline = r.StateSince + o.TaskStateTimeout;
            if (now >= deadline)
            {
                return Write((r with { Error = $"task_state {task}" }).MoveTo(RecordState.Failed,
                    Join(prefix, $"task_state '{task}' did not clear within {o.TaskStateTimeout}: Nova is still working on the instance or it is stuck; reset its state and retry"), now, ctx.Daemon));
            }
            return new InstanceStep.Wait(Min(now + o.PollInterval, deadline), $"waiting for task_state '{task}' to clear");
        }
        // S4: never evacuate over an evacuation Nova is still running (someone else's, or a
        // duplicate of an earlier attempt left "accepted"), even while task_state is null.
        if (nova.Since(r.BaselineMigrationId).FirstOrDefault(m => !m.Done && !m.Failed) is { } running)
        {
            var deadline = r.StateSince + o.TaskStateTimeout;
            if (now >= deadline)
            {
                return Write((r with { Error = $"migration {running.Id} {running.Status}" }).MoveTo(RecordState.Failed,
                    Join(prefix, $"Nova still shows evacuation migration {running.Id} as '{running.Status}' after {o.TaskStateTimeout}; not evacuating over it (S4): check the instance in Nova, then retry"), now, ctx.Daemon));
            }
            return new InstanceStep.Wait(Min(now + o.PollInterval, deadline), $"Nova shows evacuation migration {running.Id} '{running.Status}' in progress");
        }
        if (r.Attempt - r.AttemptBase >= o.MaxAttempts)
        {
            return Write(r.MoveTo(RecordState.Failed, Join(prefix, $"all {o.MaxAttempts} attempts used"), now, ctx.Daemon));
        }
        var attempt = r.Attempt + 1;
        var target = o.TargetFor(r.Id, attempt);
        var next = r with
        {
            Attempt = attempt,
            AttemptStartedAt = now,
            AttemptRequestId = null,
            BaselineMigrationId = nova.NewestMigrationId,
            OutcomeUnknownSince = null,
            NotBefore = null,
            RequestedDestination = target,
        };
        var where = target is null ? "Nova's scheduler picks the host" : $"to {target}";
        return new InstanceStep.StartAttempt(next.MoveTo(RecordState.Evacuating,
            Join(prefix, $"attempt {attempt} of {r.AttemptBase + o.MaxAttempts}: evacuating from {r.SourceHost} ({where})"), now, ctx.Daemon));
    }

    /// <summary>Evacuating: did the attempt's call reach Nova? Never guess (S4).</summary>
    private static InstanceStep Reconcile(InstanceRecord r, InstanceObservation nova, DecisionContext ctx)
    {
        var now = ctx.Now;
        var o = ctx.Options;
        var server = nova.Server;
        if (server is null)
        {
            return Write(r.MoveTo(RecordState.Skipped, $"the instance was deleted during attempt {r.Attempt}", now, ctx.Daemon));
        }
        var ours = nova.Since(r.BaselineMigrationId);
        if (ours.Count > 0)
        {
            // The call reached Nova: follow its migration. Record that we know it.
            var step = Follow(r, nova, ctx);
            if (step is InstanceStep.Wait)
            {
                var m = ours[0];
                return Write(r.MoveTo(RecordState.Rebuilding,
                    $"Nova shows migration {m.Id} ({m.Status}) for attempt {r.Attempt}: the call reached Nova", now, ctx.Daemon));
            }
            return step;
        }
        var quietSince = Max(r.AttemptStartedAt ?? r.StateSince, ctx.OwnedSince, r.OutcomeUnknownSince ?? DateTimeOffset.MinValue);
        var settled = quietSince + o.CallSettle;
        if (server.TaskState is { } task)
        {
            // Nova is busy with the instance but shows no migration of ours: maybe our call,
            // between its task_state and its migration row. Never re-issue over it.
            var deadline = (r.AttemptStartedAt ?? r.StateSince) + o.RebuildTimeout;
            if (now >= deadline)
            {
                return Write(r.MoveTo(RecordState.Failed,
                    $"task_state '{task}' without an evacuation migration for attempt {r.Attempt} since {r.AttemptStartedAt:O}; not re-issued (S4): check the instance in Nova, then retry", now, ctx.Daemon));
            }
            return new InstanceStep.Wait(Min(now + o.PollInterval, deadline), $"task_state '{task}' but no migration of attempt {r.Attempt} yet");
        }
        if (!SameHost(server.Host, r.SourceHost))
        {
            return Write(r.MoveTo(RecordState.Skipped,
                $"the instance is on {server.Host ?? "no host"} but Nova shows no evacuation migration of attempt {r.Attempt}: it was moved outside evacuationd", now, ctx.Daemon));
        }
        if (now < settled)
        {
            return new InstanceStep.Wait(Min(now + o.PollInterval, settled),
                $"no trace of attempt {r.Attempt} in Nova yet; concluding at {settled:O} if it stays so");
        }
        // No migration, no task, still on the fenced host, for CallSettle: the call never reached Nova.
        return Start(r, nova, ctx, prefix: $"attempt {r.Attempt} left no trace in Nova for {o.CallSettle}: its call never reached Nova");
    }

    /// <summary>Rebuilding: follow the attempt's migration until Nova ends it.</summary>
    private static InstanceStep Follow(InstanceRecord r, InstanceObservation nova, DecisionContext ctx)
    {
        var now = ctx.Now;
        var o = ctx.Options;
        var server = nova.Server;
        if (server is null)
        {
            return Write(r.MoveTo(RecordState.Skipped, $"the instance was deleted while Nova rebuilt it (attempt {r.Attempt})", now, ctx.Daemon));
        }
        var started = r.AttemptStartedAt ?? r.StateSince;
        var deadline = started + o.RebuildTimeout;
        var ours = nova.Since(r.BaselineMigrationId);
        if (ours.Count == 0)
        {
            if (server.TaskState is null && SameHost(server.Host, r.SourceHost) && now >= r.StateSince + o.CallSettle)
            {
                return FailAttempt(r, $"Nova accepted attempt {r.Attempt} (request {r.AttemptRequestId}) but shows no evacuation migration and no task", ctx);
            }
            if (now >= deadline)
            {
                return Write(r.MoveTo(RecordState.Failed, $"Nova shows no migration for attempt {r.Attempt} after {o.RebuildTimeout}; check the instance in Nova, then retry", now, ctx.Daemon));
            }
            return new InstanceStep.Wait(Min(now + o.PollInterval, deadline), $"waiting for Nova's migration of attempt {r.Attempt}");
        }
        var m = ours[0];
        var extra = ours.Count > 1 ? $" (Nova shows {ours.Count} migrations for this attempt)" : "";
        if (m.Done)
        {
            if (server.TaskState is null && !SameHost(server.Host, r.SourceHost))
            {
                if (string.Equals(server.VmState, "error", StringComparison.OrdinalIgnoreCase))
                {
                    // Rebuilt elsewhere but broken: evacuate cannot help any more (its new host is up).
                    return Write((r with { DestinationHost = server.Host, Error = server.Fault ?? "vm_state error" }).MoveTo(RecordState.Failed,
                        $"Nova rebuilt the instance on {server.Host} (migration {m.Id} {m.Status}) but it is in ERROR there{FaultText(server)}{extra}; repair it on {server.Host} (it is not on the fenced host any more)", now, ctx.Daemon));
                }
                return Write((r with { DestinationHost = server.Host, Error = null }).MoveTo(RecordState.Done,
                    $"Nova rebuilt the instance on {server.Host} (migration {m.Id} {m.Status}, status {server.Status}){extra}", now, ctx.Daemon));
            }
            // Migration done, server not settled yet: Nova finishes the rebuild.
        }
        else if (m.Failed)
        {
            if (server.TaskState is null || now >= deadline)
            {
                return FailAttempt(r, $"Nova's migration {m.Id} of attempt {r.Attempt} ended '{m.Status}'{FaultText(server)}{extra}", ctx);
            }
        }
        if (now >= deadline)
        {
            return Write((r with { Error = $"migration {m.Id} {m.Status}" }).MoveTo(RecordState.Failed,
                $"Nova did not finish attempt {r.Attempt} within {o.RebuildTimeout}: migration {m.Id} is '{m.Status}', task_state '{server.TaskState}', host {server.Host}. Not re-issued, the attempt may still run (S4): check the instance in Nova, then retry", now, ctx.Daemon));
        }
        return new InstanceStep.Wait(Min(now + o.PollInterval, deadline),
            $"Nova is rebuilding (migration {m.Id} {m.Status}, task_state {server.TaskState ?? "none"}, host {server.Host})");
    }

    /// <summary>The attempt ended in Nova without success: retry after backoff, or fail.</summary>
    private static InstanceStep.Write FailAttempt(InstanceRecord r, string reason, DecisionContext ctx, string? requestId = null)
    {
        var now = ctx.Now;
        var o = ctx.Options;
        if (r.CancelRequested)
        {
            return Write((r with { Error = reason }).MoveTo(RecordState.Cancelled, $"{reason}; cancelled by an operator", now, ctx.Daemon, requestId));
        }
        if (r.Attempt - r.AttemptBase >= o.MaxAttempts)
        {
            return Write((r with { Error = reason }).MoveTo(RecordState.Failed, $"{reason}; all {o.MaxAttempts} attempts used", now, ctx.Daemon, requestId));
        }
        var notBefore = now + Backoff.After(r.Id, r.Attempt, o.BackoffBase, o.BackoffMax);
        return Write((r with { Error = reason, NotBefore = notBefore, OutcomeUnknownSince = null }).MoveTo(RecordState.Retrying,
            $"{reason}; attempt {r.Attempt + 1} of {r.AttemptBase + o.MaxAttempts} not before {notBefore:O}", now, ctx.Daemon, requestId));
    }

    public static bool SameHost(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static InstanceStep.Write Write(InstanceRecord next) => new(next);

    private static string FaultText(ServerView s) => s.Fault is null ? "" : $": {s.Fault}";

    private static string Join(string? prefix, string text) => prefix is null ? text : $"{prefix}; {text}";

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b, DateTimeOffset c) =>
        a > b ? (a > c ? a : c) : (b > c ? b : c);
}
