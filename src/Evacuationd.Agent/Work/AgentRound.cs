using Evacuationd.Agent.Decisions;
using Evacuationd.Agent.Ports;
using Evacuationd.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>What the run loop's round did with the host's release.</summary>
internal enum ReleaseOutcome
{
    /// <summary>Not asked (see <see cref="ReleaseDecision"/>).</summary>
    NotAsked,

    /// <summary>The daemon released the host.</summary>
    Released,

    /// <summary>FAILED_PRECONDITION: not possible yet (fencing not ended, Nova still refuses); asked again next round.</summary>
    NotYet,

    /// <summary>Any other failure (refused, no daemon reachable); asked again next round.</summary>
    Failed,
}

/// <summary>What one round of <c>run</c> did.</summary>
internal sealed record RoundReport(
    CheckInResponse? CheckIn,
    GuardReport? Guard,
    bool GuardReported,
    IReadOnlyList<SelfCheckResult> Checks,
    ReleaseOutcome Release,
    TimeSpan NextDelay);

/// <summary>The settings of <c>run</c> that a round needs.</summary>
internal sealed record RoundSettings(TimeSpan Interval, IReadOnlyList<SelfCheckSpec> Checks, ReleaseMode Release);

/// <summary>
/// One round of <c>evacuationd-agent run</c>: check in; run the split-brain guard on the
/// answer and report it; run the self-checks and report them; when the fencing ended and
/// the guard is clean, ask for the host's release. A daemon that cannot be reached ends the
/// round early (logged, never fatal); the loop tries again after the interval.
/// </summary>
internal sealed class AgentRound(
    AgentIdentity identity,
    RoundSettings settings,
    IAgentDaemon daemon,
    SplitBrainGuard guard,
    ISelfCheckRunner checks,
    ILogger logger)
{
    public async Task<RoundReport> RunAsync(CancellationToken cancellationToken)
    {
        var host = identity.Host;

        // 1. Check in.
        var checkIn = await daemon.CheckInAsync(identity.CheckInRequest(), cancellationToken).ConfigureAwait(false);
        if (checkIn.Value is not { } answer)
        {
            Problem("check-in", checkIn);
            return new RoundReport(null, null, false, [], ReleaseOutcome.NotAsked, settings.Interval);
        }

        var next = CheckInSchedule.Next(settings.Interval, answer.NextCheckInSeconds);
        logger.CheckedIn(host, HostStates.Describe(answer.Host), answer.EvacuatedAway.Count, Durations.Format(next));

        // 2. Split-brain guard, reported every round (also when there is nothing to do: the
        //    daemon learns that this host is clean).
        var guardReport = await guard.RunAsync(answer, cancellationToken).ConfigureAwait(false);
        var reported = await daemon.ReportGuardAsync(guardReport.Request(host), cancellationToken).ConfigureAwait(false);
        Problem("guard report", reported);

        // 3. Self-checks.
        var results = await RunChecksAsync(cancellationToken).ConfigureAwait(false);

        // 4. Release once the fencing ended and the guard is clean.
        var decision = ReleaseDecision.Decide(answer.Host, guardReport.Clean, reported.Value is not null, settings.Release);
        var release = ReleaseOutcome.NotAsked;
        if (decision.Request)
        {
            release = await ReleaseAsync(decision, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            logger.NoRelease(host, decision.Why);
        }

        return new RoundReport(answer, guardReport, reported.Value is not null, results, release, next);
    }

    private async Task<IReadOnlyList<SelfCheckResult>> RunChecksAsync(CancellationToken cancellationToken)
    {
        if (settings.Checks.Count == 0)
        {
            return [];
        }

        // Concurrently: a hanging check delays the round by one timeout, not one per check.
        var results = await Task.WhenAll(settings.Checks.Select(c => checks.RunAsync(c, cancellationToken))).ConfigureAwait(false);
        foreach (var failed in results.Where(r => !r.Ok))
        {
            logger.SelfCheckFailed(failed.Name, failed.DurationMs, failed.Output);
        }

        var request = new ReportSelfChecksRequest { Host = identity.Host };
        request.Results.AddRange(results);
        var answer = await daemon.ReportSelfChecksAsync(request, cancellationToken).ConfigureAwait(false);
        if (!Problem("self-check report", answer) && answer.Value!.ServiceDisabled)
        {
            logger.ServiceDisabled(identity.Host, answer.Value.Message);
        }

        return results;
    }

    private async Task<ReleaseOutcome> ReleaseAsync(ReleaseDecision decision, CancellationToken cancellationToken)
    {
        var host = identity.Host;
        logger.RequestingRelease(host, decision.Why);
        var released = await daemon.RequestReleaseAsync(
            new RequestReleaseRequest { Host = host, Reason = $"evacuationd-agent on {host}: {decision.Why}" },
            cancellationToken).ConfigureAwait(false);
        if (released.Value is { } after)
        {
            logger.Released(host, HostStates.Describe(after));
            return ReleaseOutcome.Released;
        }

        if (released.Refusal is { Code: StatusCode.FailedPrecondition } notYet)
        {
            logger.ReleaseNotYet(host, notYet.Message);
            return ReleaseOutcome.NotYet;
        }

        Problem("release", released);
        return ReleaseOutcome.Failed;
    }

    private bool Problem<T>(string call, DaemonResult<T> result)
        where T : class => logger.LogFailure(call, result);
}
