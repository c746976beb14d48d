using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Api;

/// <summary>
/// Which compute hosts the cloud has (their count is the blast-radius share's denominator;
/// their names answer the fence agent's "list"), refreshed from Nova in the background: the
/// fence path never waits for Nova (S2), it uses the last known count, or none (then only
/// the host-count rule applies).
/// </summary>
public sealed class ComputeInventory(IComputeClient compute, TimeProvider time, TimeSpan? refresh = null) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private readonly TaskCompletionSource _known = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<string>? _hosts;

    /// <summary>The last known number of nova-compute services, or null if never known.</summary>
    public int? Count => Hosts?.Count;

    /// <summary>The nova-compute hosts Nova last listed (sorted, distinct), or null if never known.</summary>
    public IReadOnlyList<string>? Hosts => Volatile.Read(ref _hosts);

    /// <summary>
    /// <see cref="Hosts"/>, waiting up to <paramref name="wait"/> for Nova's first answer when it
    /// has never answered (a daemon that just started); null if it still has not.
    /// </summary>
    public async Task<IReadOnlyList<string>?> HostsAsync(TimeSpan wait, CancellationToken ct)
    {
        if (Hosts is null)
        {
            try
            {
                await _known.Task.WaitAsync(wait, time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        return Hosts;
    }

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
                var services = await compute.ListComputeServicesAsync(ct).ConfigureAwait(false);
                Volatile.Write(ref _hosts, services.Select(s => s.Host).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList());
                _known.TrySetResult();
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
