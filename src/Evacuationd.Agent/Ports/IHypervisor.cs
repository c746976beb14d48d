namespace Evacuationd.Agent.Ports;

/// <summary>
/// The local hypervisor, as far as the split-brain guard needs it: which guests run here
/// (by instance UUID: Nova names each libvirt domain by its instance's UUID) and a hard stop
/// of one of them. Failures throw <see cref="HypervisorException"/> with a message for the
/// operator; a guest that turns out not to run (any more) is not a failure of
/// <see cref="DestroyAsync"/>.
/// </summary>
internal interface IHypervisor
{
    /// <summary>For logs: "virsh", "none", ...</summary>
    string Name { get; }

    /// <summary>The guests that are active here (running or paused: anything that may hold the instance's disks).</summary>
    Task<IReadOnlySet<Guid>> ListRunningAsync(CancellationToken cancellationToken);

    /// <summary>Stops the guest at once (no shutdown inside the guest); returns what happened, e.g. "destroyed".</summary>
    Task<string> DestroyAsync(Guid instance, CancellationToken cancellationToken);
}

/// <summary>The hypervisor could not be asked or could not do it.</summary>
internal sealed class HypervisorException : Exception
{
    public HypervisorException(string message)
        : base(message)
    {
    }

    public HypervisorException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
