using System.Collections.Concurrent;
using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Api;

/// <summary>One self-check a compute node's agent ran (a command with a timeout).</summary>
public sealed record SelfCheck(string Name, bool Ok, string Output, TimeSpan Duration);

/// <summary>A host's latest self-check report, as this daemon received it.</summary>
public sealed record HostHealth(string Host, DateTimeOffset At, IReadOnlyList<SelfCheck> Checks, int FailedInARow, bool ServiceDisabled, string By)
{
    public bool Ok => Checks.All(c => c.Ok);
}

/// <summary>The answer to a self-check report.</summary>
public sealed record SelfCheckVerdict(bool ServiceDisabled, string Message, HostHealth Health);

/// <summary>
/// Self-check reports of the compute-node agents, and the policy on them: after
/// <c>failedInARowLimit</c> failed reports in a row the host's nova-compute service is
/// disabled, so the scheduler sends no new instance there. Never a force-down and never an
/// evacuation: a self-check alone is no proof the host is dead (S1). Kept in this daemon's
/// memory: an agent reports to the same daemon while it answers, and after a failover the
/// count starts again (a later disable, never a wrong one).
/// </summary>
public sealed class SelfCheckBook(IComputeClient compute, TimeProvider time, int failedInARowLimit)
{
    private readonly ConcurrentDictionary<string, HostHealth> _hosts = new(StringComparer.Ordinal);

    public IReadOnlyList<HostHealth> All => _hosts.Values.OrderBy(h => h.Host, StringComparer.Ordinal).ToList();

    public HostHealth? Get(string host) => _hosts.GetValueOrDefault(host);

    public async Task<SelfCheckVerdict> ReportAsync(string host, IReadOnlyList<SelfCheck> checks, string by, CancellationToken ct)
    {
        var before = _hosts.GetValueOrDefault(host);
        var failed = checks.Where(c => !c.Ok).Select(c => c.Name).ToList();
        var inARow = failed.Count == 0 ? 0 : (before?.FailedInARow ?? 0) + 1;
        // Disabled stays disabled: checks passing again do not re-enable the service; an
        // operator (`openstack compute service set --enable`) or the host's release does.
        var disabled = before?.ServiceDisabled == true;
        string message;
        if (failed.Count == 0)
        {
            message = (checks.Count == 0 ? "no self-check configured" : $"{checks.Count} self-check(s) ok")
                      + (disabled ? $"; nova-compute on {host} stays disabled until an operator enables it" : "");
        }
        else if (disabled)
        {
            message = $"failing: {string.Join(", ", failed)} ({inARow} reports in a row); nova-compute stays disabled";
        }
        else if (failedInARowLimit > 0 && inARow >= failedInARowLimit)
        {
            disabled = await DisableAsync(host, failed, inARow, ct).ConfigureAwait(false);
            message = disabled
                ? $"failing: {string.Join(", ", failed)} ({inARow} reports in a row): nova-compute on {host} disabled (no new instances; nothing is evacuated)"
                : $"failing: {string.Join(", ", failed)} ({inARow} reports in a row): disabling nova-compute on {host} did not work; tried again at the next report";
        }
        else
        {
            message = $"failing: {string.Join(", ", failed)} ({inARow} report(s) in a row{(failedInARowLimit > 0 ? $", nova-compute is disabled at {failedInARowLimit}" : "")})";
        }
        var health = new HostHealth(host, time.GetUtcNow(), checks, inARow, disabled, by);
        _hosts[host] = health;
        return new SelfCheckVerdict(disabled, message, health);
    }

    private async Task<bool> DisableAsync(string host, IReadOnlyList<string> failed, int inARow, CancellationToken ct)
    {
        try
        {
            var service = await compute.FindComputeServiceAsync(host, ct).ConfigureAwait(false);
            if (service is null)
            {
                return false;
            }
            await compute.DisableAsync(service, $"evacuationd: self-checks failing ({string.Join(", ", failed)}), {inARow} reports in a row", ct).ConfigureAwait(false);
            return true;
        }
        catch (ComputeException)
        {
            return false;
        }
    }
}
