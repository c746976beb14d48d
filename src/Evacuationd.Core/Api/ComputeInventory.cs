using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Api;

/// <summary>
/// How many compute hosts the cloud has (the blast-radius share's denominator), refreshed
/// from Nova in the background: the fence path never waits for Nova (S2), it uses the last
/// known count, or none (then only the host-count rule applies).
/// </summary>
public sealed class ComputeInventory(IComputeClient compute, TimeProvider time, TimeSpan? refresh = null) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _count = -1;

    /// <summary>The last known number of nova-compute services, or null if never known.</summary>
    public int? Count => Volatile.Read(ref _count) is var c and >= 0 ? c : null;

    public ComputeInventory Start()
    {
        _loop = Task.Run(() => LoopAsync(_stop.Token));
        return this;
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var every = refresh ?? TimeSpan.FromMinutes(5);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                Volatile.Write(ref _count, (await compute.ListComputeServicesAsync(ct).ConfigureAwait(false)).Count);
            }
            catch (ComputeException)
            {
                // Keep the last count; try again at the next round.
            }
            try
            {
                await Task.Delay(Count is null ? TimeSpan.FromSeconds(10) : every, time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
