using Evacuationd.Agent.Ports;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Adapters;

/// <summary>
/// Runs a self-check as <c>/bin/sh -c COMMAND</c>: ok when it exits 0 within its timeout.
/// The output reported is its standard output then its standard error, trimmed and cut to
/// <see cref="MaxOutputChars"/> (the end is kept: that is where errors are).
/// </summary>
internal sealed class ShellSelfCheckRunner(ProcessRunner processes, string shell = "/bin/sh") : ISelfCheckRunner
{
    public const int MaxOutputChars = 1024;

    public async Task<SelfCheckResult> RunAsync(SelfCheckSpec check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        ProcessOutcome outcome;
        try
        {
            outcome = await processes.RunAsync(shell, ["-c", check.Command], check.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (ProcessStartException e)
        {
            return new SelfCheckResult { Name = check.Name, Ok = false, Output = e.Message };
        }

        var output = string.Join("\n", new[] { outcome.Stdout.Trim(), outcome.Stderr.Trim() }.Where(s => s.Length > 0));
        string verdict;
        if (outcome.TimedOut)
        {
            verdict = $"timed out after {Durations.Format(check.Timeout)} (killed)";
        }
        else if (outcome.ExitCode != 0)
        {
            verdict = $"exit code {outcome.ExitCode}";
        }
        else
        {
            verdict = string.Empty;
        }

        return new SelfCheckResult
        {
            Name = check.Name,
            Ok = !outcome.TimedOut && outcome.ExitCode == 0,
            Output = verdict.Length == 0 ? Bound(output, MaxOutputChars)
                : output.Length == 0 ? verdict
                : $"{verdict}: {Bound(output, MaxOutputChars - verdict.Length - 2)}",
            DurationMs = (uint)Math.Min(uint.MaxValue, Math.Max(0, outcome.Duration.TotalMilliseconds)),
        };
    }

    /// <summary>At most <paramref name="max"/> characters, keeping the end.</summary>
    public static string Bound(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length <= max ? text : "…" + text[^(max - 1)..];
    }
}
