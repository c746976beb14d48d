using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Ports;

/// <summary>One configured self-check: a shell command that passes when it exits 0 within <see cref="Timeout"/>.</summary>
internal sealed record SelfCheckSpec(string Name, string Command, TimeSpan Timeout);

/// <summary>Runs one self-check. Never throws for the check's own failure (that is a result with ok=false); only cancellation throws.</summary>
internal interface ISelfCheckRunner
{
    Task<SelfCheckResult> RunAsync(SelfCheckSpec check, CancellationToken cancellationToken);
}
