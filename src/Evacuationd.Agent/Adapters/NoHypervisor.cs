using Evacuationd.Agent.Ports;

namespace Evacuationd.Agent.Adapters;

/// <summary><c>--hypervisor none</c>: a host where no guest can run (or that another guard covers): nothing runs, nothing to destroy.</summary>
internal sealed class NoHypervisor : IHypervisor
{
    public string Name => "none";

    public Task<IReadOnlySet<Guid>> ListRunningAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlySet<Guid>>(new HashSet<Guid>());

    public Task<string> DestroyAsync(Guid instance, CancellationToken cancellationToken) =>
        Task.FromResult("nothing runs here (--hypervisor none)");
}
