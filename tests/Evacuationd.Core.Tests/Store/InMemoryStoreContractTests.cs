using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Core.Tests.Store;

/// <summary>The store contract against the embedded in-memory store.</summary>
public sealed class InMemoryStoreContractTests : EvacuationStoreContract
{
    protected override Task<IEvacuationStore> CreateStoreAsync(FakeTimeProvider time) =>
        Task.FromResult<IEvacuationStore>(new InMemoryEvacuationStore(time));

    protected override Task CompactAsync()
    {
        ((InMemoryEvacuationStore)Store).Compact();
        return Task.CompletedTask;
    }
}
