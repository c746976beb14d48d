using Evacuationd.Core.Compute;
using Evacuationd.Core.Store;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Core.Engine;

/// <summary>What every runner of one daemon shares.</summary>
internal sealed record RunnerContext(
    string DaemonId,
    IEvacuationStore Store,
    IComputeClient Compute,
    TimeProvider Time,
    EngineOptions Options,
    LeaseSession Session,
    StoreView View,
    NovaObserver Observer,
    ILogger Log,
    Metrics.EvacuationMetrics? Metrics = null)
{
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Waits until <paramref name="until"/> (or a wake-up), bounded by the poll interval (or, with a wake-up task, the resync interval).</summary>
    public async Task DelayUntilAsync(DateTimeOffset until, Task? wake, CancellationToken ct)
    {
        var delay = until - Now;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        var cap = wake is null ? Options.Workflow.PollInterval : Options.ResyncInterval;
        if (delay > cap)
        {
            delay = cap;
        }
        var sleep = Task.Delay(delay, Time, ct);
        if (wake is null)
        {
            await sleep.ConfigureAwait(false);
            return;
        }
        await Task.WhenAny(sleep, wake).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
    }
}
