using Evacuationd.Agent.Decisions;
using Evacuationd.Agent.Ports;
using Evacuationd.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>How the start gate ended.</summary>
internal enum GateOutcome
{
    /// <summary>nova-compute may start.</summary>
    Open,

    /// <summary>A daemon answered, but the gate stayed closed until the wait was over.</summary>
    Closed,

    /// <summary>No daemon could be reached (at the last attempt): closed, fail safe.</summary>
    Unreachable,
}

internal sealed record GateResult(GateOutcome Outcome, string Reason);

/// <summary>The gate's settings: how long to wait in all, and how often to ask.</summary>
internal sealed record GateSettings(TimeSpan Wait, TimeSpan Poll);

/// <summary>
/// <c>evacuationd-agent gate</c>, systemd's ExecStartPre of nova-compute (S7). Each attempt:
/// check in, run the split-brain guard on the answer (destroying evacuated guests found
/// here), report it, then ask GetStartGate with the guard's verdict. The guard runs again on
/// every attempt, so that its list of evacuated instances is never older than the gate's
/// answer. Attempts repeat every poll interval until the gate opens or the wait is over;
/// no answer at all keeps the gate closed (fail safe).
/// </summary>
internal sealed class StartGate(
    AgentIdentity identity,
    GateSettings settings,
    IAgentDaemon daemon,
    SplitBrainGuard guard,
    TimeProvider clock,
    ILogger logger)
{
    private sealed record Attempt(GateStep Step, string Reason, bool Unreachable);

    public async Task<GateResult> RunAsync(CancellationToken cancellationToken)
    {
        var host = identity.Host;
        var deadline = clock.GetUtcNow() + settings.Wait;
        var recheckedAtOnce = false;
        while (true)
        {
            var attempt = await AttemptAsync(cancellationToken).ConfigureAwait(false);
            if (attempt.Step == GateStep.Open)
            {
                logger.GateOpen(host, attempt.Reason);
                return new GateResult(GateOutcome.Open, attempt.Reason);
            }

            // The fencing moved on between check-in and answer: once at once, then at the poll pace.
            if (attempt.Step == GateStep.Recheck && !recheckedAtOnce)
            {
                recheckedAtOnce = true;
                logger.GateRecheck(host, attempt.Reason);
                continue;
            }

            recheckedAtOnce = false;
            var remaining = deadline - clock.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                logger.GateGaveUp(host, Durations.Format(settings.Wait), attempt.Reason);
                return new GateResult(attempt.Unreachable ? GateOutcome.Unreachable : GateOutcome.Closed, attempt.Reason);
            }

            var delay = remaining < settings.Poll ? remaining : settings.Poll;
            logger.GateClosed(host, attempt.Reason, Durations.Format(delay));
            await Task.Delay(delay, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Attempt> AttemptAsync(CancellationToken cancellationToken)
    {
        var host = identity.Host;

        // 1. Check in: the fencing's state and the instances evacuated away.
        var checkIn = await daemon.CheckInAsync(identity.CheckInRequest(), cancellationToken).ConfigureAwait(false);
        if (checkIn.Value is not { } answer)
        {
            return Failed("check-in", checkIn);
        }

        // 2. Guard: destroy the evacuated guests found here, look again.
        var guardReport = await guard.RunAsync(answer, cancellationToken).ConfigureAwait(false);

        // 3. Report it (the daemon's record of what was destroyed here).
        var reported = await daemon.ReportGuardAsync(guardReport.Request(host), cancellationToken).ConfigureAwait(false);
        if (reported.Value is null)
        {
            return Failed("guard report", reported);
        }

        // 4. Ask, with the guard's verdict.
        var gate = await daemon.GetStartGateAsync(new StartGateRequest { Host = host, GuardClean = guardReport.Clean }, cancellationToken).ConfigureAwait(false);
        if (gate.Value is not { } said)
        {
            return Failed("start gate", gate);
        }

        var decision = GateDecision.Decide(answer.Host, guardReport.Clean, said);
        return new Attempt(decision.Step, decision.Reason, Unreachable: false);
    }

    private Attempt Failed<T>(string call, DaemonResult<T> result)
        where T : class
    {
        logger.LogFailure(call, result);
        return new Attempt(GateStep.Closed, $"{call}: {result.Problem}", result.IsUnreachable);
    }
}
