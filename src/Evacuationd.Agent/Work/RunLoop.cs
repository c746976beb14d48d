using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>
/// <c>evacuationd-agent run</c>: a round (<see cref="AgentRound"/>) every interval (or every
/// next_check_in_seconds the daemon asks for), until cancelled (SIGTERM, Ctrl+C). Nothing
/// that goes wrong in a round stops the loop.
/// </summary>
internal sealed class RunLoop(AgentRound round, TimeSpan interval, TimeProvider clock, ILogger logger)
{
    /// <summary>Called after each round with its report (tests and diagnostics).</summary>
    public Action<RoundReport>? RoundCompleted { get; init; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                var report = await round.RunAsync(cancellationToken).ConfigureAwait(false);
                delay = report.NextDelay;
                RoundCompleted?.Invoke(report);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A long-running agent outlives a bug in one round; it is logged with its stack.
            catch (Exception e)
#pragma warning restore CA1031
            {
                delay = interval;
                logger.RoundFailed(e, Durations.Format(delay));
            }

            try
            {
                await Task.Delay(delay, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
