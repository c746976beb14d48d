using Evacuationd.Agent.Ports;

namespace Evacuationd.Agent.Adapters;

/// <summary>Where and how to run virsh.</summary>
internal sealed record VirshSettings(string Program, string? ConnectUri, TimeSpan Timeout);

/// <summary>
/// libvirt through <c>virsh</c>: <c>virsh list --uuid</c> (the active domains: running or
/// paused) and <c>virsh destroy UUID</c> (an immediate hard stop). Nova's libvirt driver
/// names each domain by its instance's UUID. Every call has a timeout; a missing virsh is
/// an error that says so.
/// </summary>
internal sealed class VirshHypervisor(ProcessRunner processes, VirshSettings settings) : IHypervisor
{
    /// <summary>virsh's English messages are what is matched below.</summary>
    private static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal) { ["LC_ALL"] = "C" };

    public string Name => settings.ConnectUri is null ? "virsh" : $"virsh -c {settings.ConnectUri}";

    public async Task<IReadOnlySet<Guid>> ListRunningAsync(CancellationToken cancellationToken)
    {
        var outcome = await RunAsync(["list", "--uuid"], cancellationToken).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
        {
            throw new HypervisorException($"'{Command("list --uuid")}' failed (exit code {outcome.ExitCode}): {Said(outcome)}");
        }

        var running = new HashSet<Guid>();
        foreach (var line in outcome.Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Guid.TryParse(line, out var uuid))
            {
                throw new HypervisorException($"'{Command("list --uuid")}' printed '{line}', which is not a domain UUID");
            }

            running.Add(uuid);
        }

        return running;
    }

    public async Task<string> DestroyAsync(Guid instance, CancellationToken cancellationToken)
    {
        var uuid = instance.ToString("D");
        var outcome = await RunAsync(["destroy", uuid], cancellationToken).ConfigureAwait(false);
        if (outcome.ExitCode == 0)
        {
            return "destroyed (virsh destroy)";
        }

        // Gone in the meantime (stopped, or destroyed by the other agent command): the goal is reached.
        var said = Said(outcome);
        if (said.Contains("domain is not running", StringComparison.OrdinalIgnoreCase)
            || said.Contains("Domain not found", StringComparison.OrdinalIgnoreCase))
        {
            return $"not running any more ({said})";
        }

        throw new HypervisorException($"'{Command($"destroy {uuid}")}' failed (exit code {outcome.ExitCode}): {said}");
    }

    private async Task<ProcessOutcome> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        List<string> all = settings.ConnectUri is null ? [.. arguments] : ["-c", settings.ConnectUri, .. arguments];
        ProcessOutcome outcome;
        try
        {
            outcome = await processes.RunAsync(settings.Program, all, settings.Timeout, cancellationToken, Environment).ConfigureAwait(false);
        }
        catch (ProcessStartException e)
        {
            throw new HypervisorException(
                $"cannot run virsh ('{settings.Program}'): {e.InnerException?.Message}; install libvirt-clients, give its path with --virsh, or use --hypervisor none on a host without libvirt",
                e);
        }

        if (outcome.TimedOut)
        {
            throw new HypervisorException($"'{Command(string.Join(' ', arguments))}' did not finish within {Durations.Format(settings.Timeout)} (killed)");
        }

        return outcome;
    }

    private string Command(string arguments) => $"{Name} {arguments}";

    private static string Said(ProcessOutcome outcome)
    {
        var text = (outcome.Stderr.Trim().Length > 0 ? outcome.Stderr : outcome.Stdout).Trim().ReplaceLineEndings(" ");
        return text.Length == 0 ? "(no message)" : ShellSelfCheckRunner.Bound(text, 500);
    }
}
