using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Core.Workflow;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Core.Engine;

/// <summary>
/// Drives one instance record to a terminal state: observe Nova, decide
/// (<see cref="InstanceWorkflow"/>), persist through a guarded write, call Nova. The record
/// is claimed with the first write (claim and transition in one transaction) or, when the
/// first decision is to wait, with a bare claim; it stays owned until terminal, until the
/// daemon stops (released at a checkpoint) or until the lease is lost (no write after that).
///
/// Checkpoints, for a daemon dying at each point (what a successor sees):
/// <list type="number">
/// <item>Before the first write: the record is unchanged and unowned once the lease
/// expires; the successor starts from scratch. Nothing was asked of Nova.</item>
/// <item>After "evacuating" (attempt N, baseline B) is committed, before or during the call:
/// durable is the attempt; the successor reconciles — a migration newer than B means
/// the call reached Nova and is followed; otherwise it waits CallSettle before a new
/// attempt (S4).</item>
/// <item>After the call answered, before "rebuilding" is committed: same as 2; the
/// migration of the accepted call is found and followed.</item>
/// <item>After "rebuilding" is committed: the successor follows the migration to done,
/// failed or retrying, never calling evacuate while it runs.</item>
/// <item>After a terminal write: nothing left; the owner key went with it.</item>
/// </list>
/// </summary>
internal sealed class InstanceRunner(RunnerContext ctx)
{
    private Versioned<InstanceRecord> _current = null!;
    private Ownership? _own;
    private DateTimeOffset _ownedSince;
    private DateTimeOffset? _unreachableSince;

    private string Key => _current.Value.Id;

    /// <summary>Runs until the record is terminal, owned by another, or this daemon stops.</summary>
    /// <param name="lost">Cancelled when the lease is lost: no write may follow.</param>
    /// <param name="stopping">Cancelled on graceful stop: hand the record over at the next checkpoint.</param>
    public async Task RunAsync(string id, CancellationToken lost, CancellationToken stopping)
    {
        Versioned<InstanceRecord>? found;
        try
        {
            found = await ctx.Store.GetInstanceAsync(id, lost).ConfigureAwait(false);
        }
        catch
        {
            ctx.View.ReleaseSlots(id); // the slot the scheduler reserved for it
            throw;
        }
        if (found is null || (found.Value.IsTerminal && ctx.View.RequestFor(id) is null))
        {
            ctx.View.ReleaseSlots(id);
            return;
        }
        _current = found;
        var r0 = found.Value;
        using var scope = ctx.Log.BeginScope(new Dictionary<string, object?>
        {
            ["RecordId"] = r0.Id,
            ["InstanceUuid"] = r0.InstanceUuid,
            ["Host"] = r0.SourceHost,
            ["Daemon"] = ctx.DaemonId,
        });
        string? failure = null;
        try
        {
            await LoopAsync(lost, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not StoreUnavailableException)
        {
            // A failure of this record's handling (not of etcd's availability) counts for the poison guard.
            failure = $"{ex.GetType().Name}: {ex.Message}";
            throw;
        }
        finally
        {
            ctx.View.ReleaseSlots(id); // a reservation ends with its runner
            // Hand the record over unless it ended or the lease is gone (then it is gone too).
            if (_own is not null && !lost.IsCancellationRequested && !_current.Value.IsTerminal)
            {
                await HandOverAsync(failure).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Releases the record: after a graceful stop marked as handed over (the next claim is no
    /// adoption); after a runner failure counted for the poison guard.
    /// </summary>
    private async Task HandOverAsync(string? failure)
    {
        var r = _current.Value;
        var last = failure is null ? PoisonGuard.HandOver(r) : PoisonGuard.AfterRunnerFailure(r, failure, ctx.Now, ctx.DaemonId);
        try
        {
            var result = await ctx.Store.UpdateInstanceAsync(_own!, last, _current.Revision, release: true, CancellationToken.None).ConfigureAwait(false);
            if (!result.Ok)
            {
                await ctx.Store.ReleaseAsync(_own!, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (StoreUnavailableException)
        {
            // The lease expires by itself; a successor counts it as an adoption.
        }
        _own = null;
    }

    private async Task LoopAsync(CancellationToken lost, CancellationToken stopping)
    {
        while (true)
        {
            lost.ThrowIfCancellationRequested();
            if (stopping.IsCancellationRequested)
            {
                return; // checkpoint: nothing of ours in flight between steps; released in RunAsync.
            }
            if (ctx.View.RequestFor(_current.Value.Id) is { } request && !await ApplyRequestAsync(request, lost).ConfigureAwait(false))
            {
                return;
            }
            var r = _current.Value;
            if (r.IsTerminal)
            {
                return;
            }
            if (r.State == RecordState.Retrying && !r.CancelRequested && r.NotBefore is { } nb && nb > ctx.Now)
            {
                if (_own is null && (!await ClaimAsync(null, lost).ConfigureAwait(false) || _current.Value.IsTerminal))
                {
                    return;
                }
                await ctx.DelayUntilAsync(nb, null, stopping).ConfigureAwait(false);
                continue;
            }

            var observation = await ObserveAsync(r, lost).ConfigureAwait(false);
            if (observation is null)
            {
                if (!await HandleUnreachableAsync(lost).ConfigureAwait(false))
                {
                    return;
                }
                continue;
            }
            _unreachableSince = null;

            var step = InstanceWorkflow.Decide(r, observation, Context());
            if (step is not InstanceStep.StartAttempt)
            {
                ctx.View.ReleaseSlots(r.Id); // a slot reserved while waiting is not needed now
            }
            switch (step)
            {
                case InstanceStep.Finished:
                    return;
                case InstanceStep.Wait wait:
                    if (_own is null && (!await ClaimAsync(null, lost).ConfigureAwait(false) || _current.Value.IsTerminal))
                    {
                        return;
                    }
                    await ctx.DelayUntilAsync(wait.Until, null, stopping).ConfigureAwait(false);
                    break;
                case InstanceStep.Write write:
                    if (!await PersistAsync(write.Next, lost).ConfigureAwait(false) || write.Next.IsTerminal)
                    {
                        return;
                    }
                    break;
                case InstanceStep.StartAttempt start:
                    if (ctx.View.Held)
                    {
                        return; // a global hold starts nothing new: handed over, picked up after resume
                    }
                    if (!await StartAttemptAsync(start.Next, lost, stopping).ConfigureAwait(false))
                    {
                        return;
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// Applies an operator's request (retry, cancel) as the record's owner, then removes it.
    /// Returns false when this runner should stop (the record went to someone else).
    /// </summary>
    private async Task<bool> ApplyRequestAsync(Versioned<OperatorRequest> request, CancellationToken lost)
    {
        var next = OperatorRequests.Apply(_current.Value, request.Value, ctx.Now, ctx.DaemonId);
        if (next is not null)
        {
            if (!await PersistAsync(next, lost).ConfigureAwait(false))
            {
                return false;
            }
            EngineLog.RequestApplied(ctx.Log, Key, request.Value.Action.ToString(), request.Value.By);
        }
        // Applied (or moot: the record moved on). A request stored meanwhile stays.
        await ctx.Store.DeleteRequestIfAsync(request.Value.RecordId, request.Revision, lost).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Takes an in-flight slot (when Policy:MaxInFlightEvacuations limits them) and makes the
    /// attempt. A slot another daemon took between this daemon's look and its write fails the
    /// write's compare and leaves the record as it was: the attempt is then written at once with
    /// another free slot (the decision stands: nothing was asked of Nova, and Nova was observed
    /// before). Returns false when this runner should stop.
    /// </summary>
    private async Task<bool> StartAttemptAsync(InstanceRecord next, CancellationToken lost, CancellationToken stopping)
    {
        var max = ctx.Options.Policy.MaxInFlightEvacuations;
        if (max <= 0)
        {
            return await AttemptAsync(next, lost).ConfigureAwait(false);
        }
        HashSet<int>? taken = null;
        var waited = false;
        try
        {
            while (true)
            {
                if (ctx.View.ReserveSlot(next.Id, max, taken) is not { } slot)
                {
                    // All in-flight slots taken (over all daemons). Not owned: leave the record
                    // unowned and unwritten (no claim just to wait); the scheduler starts it again
                    // with a slot reserved once one is free. Owned: wait as the owner, then decide
                    // again. Durable either way: the record as it was (no attempt); a successor sees it unchanged.
                    if (_own is null)
                    {
                        return false;
                    }
                    waited = true;
                    await WaitForSlotAsync(next.Id, max, stopping).ConfigureAwait(false);
                    return true;
                }
                var before = _current.Revision;
                _attemptRefused = null;
                if (await AttemptAsync(next with { Slot = slot }, lost).ConfigureAwait(false))
                {
                    return true;
                }
                if (_attemptRefused is not (ClaimStatus.Conflict or WriteStatus.Conflict))
                {
                    return false;
                }
                // The compare failed: the record's (someone else wrote it) or the slot's (taken meanwhile)?
                // Durable is still the record as it was before this attempt (the failed transaction
                // wrote nothing) and nothing was asked of Nova: a successor sees no attempt and starts from scratch.
                ctx.View.ReleaseSlots(next.Id);
                var stored = await ctx.Store.GetInstanceAsync(next.Id, lost).ConfigureAwait(false);
                if (stored is null || stored.Revision != before)
                {
                    return false;
                }
                EngineLog.SlotTaken(ctx.Log, Key, slot);
                (taken ??= []).Add(slot);
            }
        }
        finally
        {
            // A slot reserved by the wait is kept for the next decision (released there if unused).
            if (_current.Value.Slot is null && !waited)
            {
                ctx.View.ReleaseSlots(next.Id);
            }
        }
    }

    /// <summary>
    /// Waits, without reading Nova, until this daemon could reserve an in-flight slot for the
    /// record (the slot stays reserved for it: the next observation and decision use it), an
    /// operator request for it arrives, the global switches change, or ResyncInterval passed.
    /// Reading Nova every PollInterval while waiting made each waiting record a poller: at
    /// 10,000 records with 40 slots, a hundred or more records per daemon re-read their hosts
    /// every 50 ms for nothing. A slot freed in etcd wakes every waiting runner of this daemon;
    /// only those that reserve a slot go on to read Nova.
    /// </summary>
    private async Task WaitForSlotAsync(string id, int max, CancellationToken stopping)
    {
        var until = ctx.Now + ctx.Options.ResyncInterval;
        while (ctx.Now < until)
        {
            var wake = ctx.View.WhenSlotFreedOrAskedAsync(); // before the look: no wake-up is missed
            if (ctx.View.RequestFor(id) is not null || ctx.View.ReserveSlot(id, max) is not null)
            {
                return;
            }
            using var sleeping = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var sleep = Task.Delay(until - ctx.Now, ctx.Time, sleeping.Token);
            await Task.WhenAny(sleep, wake).ConfigureAwait(false);
            await sleeping.CancelAsync().ConfigureAwait(false); // no timer left behind per wake-up
            stopping.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Why the attempt's first write was refused (a <see cref="ClaimStatus"/> or <see cref="WriteStatus"/>), if it was.</summary>
    private Enum? _attemptRefused;

    /// <summary>One attempt: record it, then call evacuate once, then record the answer.</summary>
    private async Task<bool> AttemptAsync(InstanceRecord next, CancellationToken lost)
    {
        // Checkpoint 1 -> 2: commit the attempt before anything is asked of Nova (S4).
        if (!await PersistAsync(next, lost).ConfigureAwait(false))
        {
            _attemptRefused = _lastRefusal;
            return false;
        }
        // Durable now: attempt N with its baseline. Dying from here on, the successor reconciles.
        if (!ctx.Session.IsValidFor(ctx.Options.LeaseSafetyMargin))
        {
            EngineLog.LeaseTooShortForCall(ctx.Log, Key);
            return false;
        }
        var r = _current.Value;
        if (ctx.Options.Policy.LockServers)
        {
            await TryNovaAsync(() => ctx.Compute.LockAsync(r.InstanceUuid, $"evacuationd: evacuating from fenced host {r.SourceHost} ({r.Id})", lost)).ConfigureAwait(false);
            // The lock may have taken a while: check the lease again right before the call, so
            // that a daemon about to lose it does not send an evacuate its successor cannot see
            // coming (model/: check-then-pause). Durable is still only the attempt.
            if (!ctx.Session.IsValidFor(ctx.Options.LeaseSafetyMargin))
            {
                EngineLog.LeaseTooShortForCall(ctx.Log, Key);
                return false;
            }
        }
        EngineLog.Evacuating(ctx.Log, Key, r.Attempt, r.RequestedDestination ?? "scheduler");
        ctx.Metrics?.EvacuationStarted();
        if (r.Attempt == 1 && ctx.View.ReportedAt(r.SourceHost) is { } reported)
        {
            ctx.Metrics?.FirstEvacuate((ctx.Now - reported).TotalSeconds);
        }
        EvacuateOutcome outcome;
        try
        {
            outcome = await ctx.Compute.EvacuateAsync(r.InstanceUuid, r.RequestedDestination, lost).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            throw; // The call may have reached Nova; the successor reconciles (checkpoint 2).
        }
        catch (Exception ex)
        {
            outcome = EvacuateOutcome.Unknown(ex.Message);
        }
        // Checkpoint 3: Nova answered (or not); durable is still only the attempt.
        var after = InstanceWorkflow.AfterCall(r, outcome, Context());
        return after is not InstanceStep.Write w || await PersistAsync(w.Next, lost).ConfigureAwait(false) && !w.Next.IsTerminal;
    }

    private async Task<InstanceObservation?> ObserveAsync(InstanceRecord r, CancellationToken lost)
    {
        try
        {
            // Read with the other records of the host, by a fetch started after this call (NovaObserver).
            return await ctx.Observer.ObserveAsync(r, lost).ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            EngineLog.NovaFailed(ctx.Log, Key, ex.Message, ex.RequestId);
            _unreachableSince ??= ctx.Now;
            _lastNovaError = ex.Message;
            return null;
        }
    }

    private string? _lastNovaError;

    /// <summary>Why the last claim or owned write was refused.</summary>
    private Enum? _lastRefusal;

    /// <summary>Nova could not be observed: wait, and fail the record past the limit (S5).</summary>
    private async Task<bool> HandleUnreachableAsync(CancellationToken lost)
    {
        if (_own is null)
        {
            return false; // Not ours yet: leave it to a later pass.
        }
        var since = _unreachableSince ?? ctx.Now;
        if (ctx.Now - since >= ctx.Options.NovaUnreachableLimit)
        {
            var r = _current.Value;
            var failed = (r with { Error = _lastNovaError }).MoveTo(RecordState.Failed,
                $"Nova could not be reached for {ctx.Options.NovaUnreachableLimit} (last error: {_lastNovaError}); check the instance in Nova, then retry",
                ctx.Now, ctx.DaemonId);
            await PersistAsync(failed, lost).ConfigureAwait(false);
            return false;
        }
        await ctx.DelayUntilAsync(ctx.Now + ctx.Options.Workflow.PollInterval, null, lost).ConfigureAwait(false);
        return true;
    }

    private DecisionContext Context() => new(ctx.Now, ctx.DaemonId, _own is null ? ctx.Now : _ownedSince, ctx.Options.Workflow);

    /// <summary>
    /// Claims the record, writing <paramref name="update"/> (or the record as it is) with the
    /// ownership bookkeeping of <see cref="PoisonGuard.ForClaim"/> in the same transaction.
    /// </summary>
    private async Task<bool> ClaimAsync(InstanceRecord? update, CancellationToken lost)
    {
        var lease = ctx.Session.Lease;
        var unclaimed = _current.Value;
        var marked = PoisonGuard.ForClaim(update ?? unclaimed, ctx.DaemonId, lease.LeaseId, ctx.Options.MaxAdoptions, ctx.Now);
        var result = await ctx.Store.TryClaimInstanceAsync(lease, Key, _current.Revision, marked, lost).ConfigureAwait(false);
        if (!result.Claimed)
        {
            _lastRefusal = result.Status;
            return false;
        }
        _own = result.Ownership;
        _ownedSince = ctx.Now;
        _current = result.Record!;
        EngineLog.Claimed(ctx.Log, Key, _current.Value.State.Name());
        ctx.Metrics?.Claimed("instance", adopted: marked.Adoptions > (update ?? unclaimed).Adoptions);
        if (_current.Value.IsTerminal)
        {
            // Ended with the claim itself (skipped at first sight, or parked by the poison guard).
            await ctx.Store.ReleaseAsync(_own!, lost).ConfigureAwait(false);
            _own = null;
        }
        return true;
    }

    /// <summary>A Nova call whose failure only deserves a log line (lock, unlock).</summary>
    private async Task TryNovaAsync(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            EngineLog.NovaFailed(ctx.Log, Key, ex.Message, ex.RequestId);
        }
    }

    /// <summary>Guarded write of <paramref name="next"/>: a claim with update when not owned yet.</summary>
    private async Task<bool> PersistAsync(InstanceRecord next, CancellationToken lost)
    {
        _lastRefusal = null;
        var before = _current.Value;
        if (!next.State.IsInFlight() && next.Slot is not null)
        {
            next = next with { Slot = null }; // leaving flight frees the in-flight slot in the same write
        }
        if (next.IsTerminal && !before.IsTerminal && ctx.Options.Policy.LockServers && next.Attempt > 0 && next.State != RecordState.Skipped)
        {
            // Unlock before the end is recorded: a successor that finds the record ended has nothing left to do.
            var uuid = next.InstanceUuid;
            await TryNovaAsync(() => ctx.Compute.UnlockAsync(uuid, lost)).ConfigureAwait(false);
        }
        if (_own is null)
        {
            if (!await ClaimAsync(next, lost).ConfigureAwait(false))
            {
                return false;
            }
            if (_current.Value.IsTerminal && !next.IsTerminal)
            {
                return false; // parked by the poison guard: nothing more to do here
            }
            next = _current.Value;
        }
        else
        {
            var result = await ctx.Store.UpdateInstanceAsync(_own, next, _current.Revision, release: next.IsTerminal, lost).ConfigureAwait(false);
            if (!result.Ok)
            {
                _lastRefusal = result.Status;
                EngineLog.WriteRefused(ctx.Log, Key, result.Status.ToString(), result.Detail);
                if (result.Status is WriteStatus.NotOwner or WriteStatus.LeaseLost)
                {
                    _own = null;
                }
                return false;
            }
            _current = new Versioned<InstanceRecord>(next, result.Revision);
            if (next.IsTerminal)
            {
                _own = null;
            }
        }
        if (before.State != next.State || before.History.Count != next.History.Count)
        {
            EngineLog.Transition(ctx.Log, Key, before.State.Name(), next.State.Name(), next.Reason);
        }
        if (next.IsTerminal && !before.IsTerminal)
        {
            var since = ctx.View.ReportedAt(next.SourceHost) ?? next.CreatedAt;
            ctx.Metrics?.RecordEnded(next.State.Name(), (ctx.Now - since).TotalSeconds);
        }
        return true;
    }
}
