using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Engine;

/// <summary>
/// At most <see cref="Limit"/> calls at once; the limit can change at any time (a daemon's
/// share of the installation-wide Nova call limit changes as daemons come and go).
/// </summary>
internal sealed class AdjustableLimiter
{
    private readonly object _gate = new();
    private readonly Queue<TaskCompletionSource> _waiting = new();
    private int _running;
    private int _limit;

    public AdjustableLimiter(int limit) => _limit = Math.Max(1, limit);

    public int Limit
    {
        get { lock (_gate) { return _limit; } }
        set
        {
            List<TaskCompletionSource> go;
            lock (_gate)
            {
                _limit = Math.Max(1, value);
                go = TakeRunnable();
            }
            go.ForEach(t => t.TrySetResult());
        }
    }

    public async Task<IDisposable> EnterAsync(CancellationToken ct)
    {
        TaskCompletionSource wait;
        lock (_gate)
        {
            if (_running < _limit && _waiting.Count == 0)
            {
                _running++;
                return new Slot(this);
            }
            wait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(wait);
        }
        using (ct.Register(() => wait.TrySetCanceled(ct)))
        {
            try
            {
                await wait.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    // If it was granted at the same moment, give the place back.
                    if (wait.Task.IsCompletedSuccessfully)
                    {
                        _running--;
                    }
                }
                throw;
            }
        }
        return new Slot(this);
    }

    private void Exit()
    {
        List<TaskCompletionSource> go;
        lock (_gate)
        {
            _running--;
            go = TakeRunnable();
        }
        go.ForEach(t => t.TrySetResult());
    }

    private List<TaskCompletionSource> TakeRunnable()
    {
        var go = new List<TaskCompletionSource>();
        while (_running < _limit && _waiting.TryDequeue(out var next))
        {
            if (next.Task.IsCompleted)
            {
                continue; // cancelled while waiting
            }
            _running++;
            go.Add(next);
        }
        return go;
    }

    private sealed class Slot(AdjustableLimiter owner) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                owner.Exit();
            }
        }
    }
}

/// <summary>The compute port with this daemon's share of the installation-wide Nova call limit.</summary>
internal sealed class LimitedComputeClient(IComputeClient inner, AdjustableLimiter limiter) : IComputeClient
{
    private async Task<T> Limited<T>(Func<Task<T>> call, CancellationToken ct)
    {
        using var _ = await limiter.EnterAsync(ct).ConfigureAwait(false);
        return await call().ConfigureAwait(false);
    }

    private async Task Limited(Func<Task> call, CancellationToken ct)
    {
        using var _ = await limiter.EnterAsync(ct).ConfigureAwait(false);
        await call().ConfigureAwait(false);
    }

    public Task<ComputeService?> FindComputeServiceAsync(string host, CancellationToken ct) => Limited(() => inner.FindComputeServiceAsync(host, ct), ct);
    public Task<IReadOnlyList<ComputeService>> ListComputeServicesAsync(CancellationToken ct) => Limited(() => inner.ListComputeServicesAsync(ct), ct);
    public Task<ComputeService> ForceDownAsync(ComputeService service, CancellationToken ct) => Limited(() => inner.ForceDownAsync(service, ct), ct);
    public Task<ComputeService> DisableAsync(ComputeService service, string reason, CancellationToken ct) => Limited(() => inner.DisableAsync(service, reason, ct), ct);
    public Task<ComputeService> ReleaseServiceAsync(ComputeService service, bool enable, CancellationToken ct) => Limited(() => inner.ReleaseServiceAsync(service, enable, ct), ct);
    public Task LockAsync(string instanceUuid, string reason, CancellationToken ct) => Limited(() => inner.LockAsync(instanceUuid, reason, ct), ct);
    public Task UnlockAsync(string instanceUuid, CancellationToken ct) => Limited(() => inner.UnlockAsync(instanceUuid, ct), ct);
    public Task ResetStateAsync(string instanceUuid, string state, CancellationToken ct) => Limited(() => inner.ResetStateAsync(instanceUuid, state, ct), ct);
    public Task<IReadOnlyList<ServerView>> ListServersOnHostAsync(string host, CancellationToken ct) => Limited(() => inner.ListServersOnHostAsync(host, ct), ct);
    public Task<ServerView?> GetServerAsync(string instanceUuid, CancellationToken ct) => Limited(() => inner.GetServerAsync(instanceUuid, ct), ct);
    public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsAsync(string instanceUuid, CancellationToken ct) => Limited(() => inner.ListEvacuationMigrationsAsync(instanceUuid, ct), ct);
    public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsFromHostAsync(string sourceHost, CancellationToken ct) => Limited(() => inner.ListEvacuationMigrationsFromHostAsync(sourceHost, ct), ct);
    public Task<IReadOnlyList<ServerView>> ListServersChangedSinceAsync(DateTimeOffset since, CancellationToken ct) => Limited(() => inner.ListServersChangedSinceAsync(since, ct), ct);
    public Task<EvacuateOutcome> EvacuateAsync(string instanceUuid, string? targetHost, CancellationToken ct) => Limited(() => inner.EvacuateAsync(instanceUuid, targetHost, ct), ct);
    public Task<IReadOnlyDictionary<string, string>> GetImagePropertiesAsync(string imageId, CancellationToken ct) => Limited(() => inner.GetImagePropertiesAsync(imageId, ct), ct);
}
