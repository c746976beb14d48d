using Evacuationd.RealNova.Tests.Support;
using Evacuationd.Testing.Compute;

namespace Evacuationd.RealNova.Tests;

/// <summary>The compute contract (the suite evacsim passes) against the real Nova, through the real client.</summary>
[Trait("Category", "RealNova")]
public sealed class RealNovaComputeContractTests : ComputeContract
{
    protected override Task<IComputeTestbed> StartTestbedAsync() => Task.FromResult<IComputeTestbed>(new RealNovaTestbed());
}
