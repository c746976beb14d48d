using Evacuationd.Core.Compute;

namespace Evacuationd.Testing.Compute;

/// <summary>
/// A cloud the compute contract runs against (evacsim, or a real Nova): it hands out a
/// client and sets up what a test needs, the way that cloud can.
/// </summary>
public interface IComputeTestbed : IAsyncDisposable
{
    /// <summary>A client to the cloud with default options, or with a small page size.</summary>
    IComputeClient Client(int pageSize = 500);

    /// <summary>A compute host with at least <paramref name="instances"/> ACTIVE servers, none used by another test.</summary>
    Task<string> FreshHostWithInstancesAsync(int instances);

    /// <summary>Makes the host's nova-compute stop (the host died, not yet fenced).</summary>
    Task KillComputeAsync(string host);

    /// <summary>Starts the host's nova-compute again (the host came back after its fencing).</summary>
    Task RestartComputeAsync(string host);

    /// <summary>
    /// Lets time pass for the cloud: a fake clock advances; a real cloud is waited for. Used
    /// by the suite to wait for Nova's asynchronous work with a bounded budget.
    /// </summary>
    Task LetTimePassAsync(TimeSpan duration);

    /// <summary>How much cloud time an evacuation may take before the suite gives up.</summary>
    TimeSpan EvacuationBudget { get; }
}
