using Evacuationd.Agent.Ports;

namespace Evacuationd.Agent.Tests.Support;

/// <summary>
/// Guests "running" in memory. Destroy removes one, unless it is in <see cref="FailDestroy"/>
/// (then it throws and the guest keeps running). Every call goes to the shared <see cref="EventLog"/>.
/// It has no way to start a guest: neither has the agent.
/// </summary>
internal sealed class FakeHypervisor(EventLog log) : IHypervisor
{
    private readonly object gate = new();
    private readonly HashSet<Guid> running = [];

    public HashSet<Guid> FailDestroy { get; } = [];

    /// <summary>When set, listing fails with this message.</summary>
    public string? ListError { get; set; }

    public List<Guid> Destroyed { get; } = [];

    public string Name => "fake";

    public void Run(params Guid[] guests)
    {
        lock (gate)
        {
            running.UnionWith(guests);
        }
    }

    public bool IsRunning(Guid guest)
    {
        lock (gate)
        {
            return running.Contains(guest);
        }
    }

    public Task<IReadOnlySet<Guid>> ListRunningAsync(CancellationToken cancellationToken)
    {
        log.Add("hypervisor list");
        if (ListError is { } error)
        {
            throw new HypervisorException(error);
        }

        lock (gate)
        {
            return Task.FromResult<IReadOnlySet<Guid>>(new HashSet<Guid>(running));
        }
    }

    public Task<string> DestroyAsync(Guid instance, CancellationToken cancellationToken)
    {
        log.Add($"hypervisor destroy {instance}");
        lock (gate)
        {
            if (FailDestroy.Contains(instance))
            {
                throw new HypervisorException($"error: Failed to destroy domain '{instance}': the fake says no");
            }

            running.Remove(instance);
            Destroyed.Add(instance);
        }

        return Task.FromResult("destroyed (fake)");
    }
}
