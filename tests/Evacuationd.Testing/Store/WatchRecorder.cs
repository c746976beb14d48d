using System.Threading.Channels;
using Evacuationd.Core.Store;

namespace Evacuationd.Testing.Store;

/// <summary>
/// Consumes <see cref="IEvacuationStore.WatchAsync"/> in the background and lets a test take
/// the changes one by one, each wait bounded (a missing event fails instead of hanging).
/// An exception of the watch (e.g. <see cref="WatchCompactedException"/>) is rethrown by the
/// next read.
/// </summary>
public sealed class WatchRecorder : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<StoreChange> _changes = Channel.CreateUnbounded<StoreChange>();
    private readonly Task _pump;

    private WatchRecorder(IEvacuationStore store, long afterRevision)
    {
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in store.WatchAsync(afterRevision, _stop.Token).ConfigureAwait(false))
                {
                    await _changes.Writer.WriteAsync(change).ConfigureAwait(false);
                }
                _changes.Writer.TryComplete();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                _changes.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _changes.Writer.TryComplete(ex);
            }
        });
    }

    /// <summary>Starts watching every change after <paramref name="afterRevision"/>.</summary>
    public static WatchRecorder Start(IEvacuationStore store, long afterRevision) => new(store, afterRevision);

    /// <summary>The next change, in revision order.</summary>
    public async Task<StoreChange> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _changes.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no watch event within {timeout ?? DefaultTimeout}");
        }
    }

    /// <summary>Takes changes until <paramref name="done"/> holds for the ones taken; returns them all.</summary>
    public async Task<IReadOnlyList<StoreChange>> TakeUntilAsync(Func<IReadOnlyList<StoreChange>, bool> done, TimeSpan? timeout = null)
    {
        var taken = new List<StoreChange>();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!done(taken))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"watch: condition not met after {taken.Count} change(s): {string.Join(", ", taken.Select(Describe))}");
            }
            taken.Add(await NextAsync(left).ConfigureAwait(false));
        }
        return taken;
    }

    /// <summary>Takes a change that already arrived, if any (to assert "nothing more" once the store is quiet).</summary>
    public bool TryTake(out StoreChange? change)
    {
        var ok = _changes.Reader.TryRead(out var c);
        change = c;
        return ok;
    }

    public static string Describe(StoreChange c) => $"{c.Revision}:{c.Kind}:{c.Key?.ToString() ?? c.Daemon?.Id}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pump.WaitAsync(DefaultTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        _stop.Dispose();
    }
}
