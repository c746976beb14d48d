using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Api;

/// <summary>
/// Takes fencing reports in (S1, S2, S6): validates them, decides new / duplicate / stale with
/// <see cref="FencePolicy"/>, holds the fencing when the blast-radius guard says so
/// (<see cref="BlastRadius"/>), and answers only after the new host record is committed,
/// together with the blast-radius window in one transaction.
/// </summary>
public sealed class FenceIntake(IEvacuationStore store, TimeProvider time, string daemonId, PolicyOptions? policy = null, Func<int?>? computeHosts = null)
{
    /// <summary>
    /// Every report's transaction compares the blast-radius window, so reports arriving together
    /// (a rack fenced at once) each win one round in turn: a report may have to wait for as many
    /// rounds as reports came with it. 8 rounds failed 30 simultaneous reports; each round is one
    /// etcd transaction, so this bound only stops a store that never settles.
    /// </summary>
    private const int MaxRounds = 256;
    private readonly PolicyOptions _policy = policy ?? new PolicyOptions();

    /// <summary>
    /// Returns once the decision is durable: for <see cref="FenceOutcome.Created"/> the host
    /// record is committed (in state planning, or held); for duplicates and stale reports
    /// nothing was written. Throws <see cref="RequestValidationException"/> for a bad report and
    /// <see cref="StoreUnavailableException"/> when the store did not confirm.
    /// </summary>
    public async Task<FenceDecision> ReportAsync(FenceReport report, CancellationToken ct)
    {
        var errors = FencePolicy.Validate(report);
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }
        for (var round = 0; round < MaxRounds; round++)
        {
            var current = await store.GetHostAsync(report.Host, ct).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var decision = FencePolicy.Decide(current?.Value, report, now, daemonId);
            if (decision.Outcome != FenceOutcome.Created)
            {
                return decision;
            }
            var control = await store.GetControlAsync(ct).ConfigureAwait(false);
            var (held, why, window) = BlastRadius.Decide(control?.Value ?? ControlState.Initial, report.Host, decision.Host.FenceGeneration, now, computeHosts?.Invoke(), _policy);
            var host = held ? decision.Host.MoveTo(HostState.Held, why, now, daemonId) : decision.Host;
            var result = await store.CommitFenceAsync(host, current?.Revision ?? 0, window, control?.Revision ?? 0, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                // S2: committed before the answer.
                return held ? decision with { Host = host, Message = $"{decision.Message}; {why}" } : decision;
            }
            // Conflict: another report, an owner, or the window changed meanwhile; decide again.
        }
        throw new StoreUnavailableException($"the host record of {report.Host} kept changing during {MaxRounds} attempts to record the fence; try again");
    }

    /// <summary>
    /// Records that a host was powered on again (the "on" half of a Pacemaker reboot, or a
    /// host coming back). Informational: a power-on does not end an evacuation nor return the
    /// host to service (S7 needs its agent). Null when the host was never fenced. The host
    /// record is owned only while a daemon plans or closes it, so the write is retried briefly.
    /// </summary>
    public async Task<HostRecord?> ReportPoweredOnAsync(string host, DateTimeOffset? at, string by, CancellationToken ct)
    {
        RequestValidationException.RequireHostName(host);
        for (var round = 1; round <= 20; round++)
        {
            var current = await store.GetHostAsync(host, ct).ConfigureAwait(false);
            if (current is null)
            {
                return null;
            }
            var now = time.GetUtcNow();
            var next = (current.Value with { PoweredOnAt = at ?? now })
                .Note($"powered on again (reported by {by}); the host stays out of service until its agent confirms it is clean", now, daemonId);
            if ((await store.PutHostIfAsync(next, current.Revision, ct).ConfigureAwait(false)).Ok)
            {
                return next;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50 * round), time, ct).ConfigureAwait(false);
        }
        throw new StoreUnavailableException($"the host record of {host} stayed busy; report the power-on again");
    }
}
