using Evacuationd.Testing.Compute;

namespace Evacuationd.Nova.Tests;

/// <summary>The compute contract against evacsim, through the real Nova client.</summary>
public sealed class EvacsimComputeContractTests : ComputeContract
{
    protected override async Task<IComputeTestbed> StartTestbedAsync() => await EvacsimTestbed.StartAsync();
}
