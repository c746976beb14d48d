using System.Collections.Concurrent;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Core.Engine;

/// <summary>
/// One evacuationd daemon's engine: a lease, a watched view of the store, and a scheduler
/// that claims unowned records (rendezvous-preferred first) and drives each with a runner,
/// up to <see cref="EngineOptions.MaxConcurrentRecords"/>. Daemons are active-active: the
/// store's guarded writes, not a leader, keep them from doing the same work twice.
/// </summary>
public sealed class EvacuationDaemon : IAsyncDisposable
{
    private readonly EngineOptions _options;
    private readonly IEvacuationStore _store;
    private readonly IComputeClient _compute;
    private readonly EvacuationMetrics? _metrics;
    private readonly AdjustableLimiter _novaLimit;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly string _version;
    private readonly string _address;
    private readonly StoreView _view = new();
    private readonly NovaObserver _observer;
    private readonly ConcurrentDictionary<RecordKey, Task> _running = new();
    private readonly ConcurrentDictionary<RecordKey, DateTimeOffset> _cooldown = new();
    private readonly AsyncSignal _runnerDone = new();
    private readonly CancellationTokenSource _stopping = new();
    private LeaseSession? _session;
    private volatile bool _killed;
    private CancellationTokenSource? _work;
    private Task _watchLoop = Task.CompletedTask;
    private Task _scheduler = Task.CompletedTask;
    private Task _retention = Task.CompletedTask;
    private DateTimeOffset _startedAt;

    public EvacuationDaemon(EngineOptions options, IEvacuationStore store, IComputeClient compute, TimeProvider time, ILoggerFactory loggers, string version = "", string address = "", EvacuationMetrics? metrics = null)
    {
        _options = options;
        _store = store;
        _metrics = metrics;
        _novaLimit = new AdjustableLimiter(options.Policy.MaxConcurrentNovaCalls);
        _compute = options.Policy.MaxConcurrentNovaCalls > 0 ? new LimitedComputeClient(compute, _novaLimit) : compute;
        _observer = new NovaObserver(_compute, time, NovaObserver.DefaultGather);
        _time = time;
        _log = loggers.CreateLogger("Evacuationd.Engine");
        _version = version;
        _address = address;
        Id = string.IsNullOrEmpty(options.DaemonId) ? $"{Environment.MachineName}-{Environment.ProcessId}" : options.DaemonId;
        if (metrics is not null)
        {
            // What this daemon sees in the store (every daemon sees the same: take max() over daemons).
            metrics.Meter.CreateObservableGauge("evacuationd.records", () => _view.StateCounts().Records.Select(kv =>
                new System.Diagnostics.Metrics.Measurement<int>(kv.Value, new("state", kv.Key.Name()), new("daemon", Id))), "{record}", "Instance records by state, as this daemon sees the store");
            metrics.Meter.CreateObservableGauge("evacuationd.hosts", () => _view.StateCounts().Hosts.Select(kv =>
                new System.Diagnostics.Metrics.Measurement<int>(kv.Value, new("state", kv.Key.Name()), new("daemon", Id))), "{host}", "Host fencings by state (held: waiting for an operator), as this daemon sees the store");
        }
    }

    public string Id { get; }

    /// <summary>The daemon's lease session, once started.</summary>
    public LeaseSession? Session => _session;

    /// <summary>Records this daemon drives right now.</summary>
    public int RunningCount => _running.Count;

    /// <summary>True once the lease is lost or the daemon was killed or stopped.</summary>
    public bool IsDown => _session?.IsLost ?? false;

    /// <summary>
    /// True when the lease was lost on its own (renewals late or refused: a pause, a starved
    /// machine, a partition), not by <see cref="Kill"/> or <see cref="StopAsync"/>. Such a
    /// daemon does nothing more; its host process should join again under a new lease.
    /// </summary>
    public bool LostItsLease => IsDown && !_killed && !_stopping.IsCancellationRequested;

    /// <summary>Registers the daemon under a new lease and starts watching and claiming.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var lease = await _store.GrantLeaseAsync(new DaemonInfo(Id, _version, _address, now), _options.LeaseTtl, ct).ConfigureAwait(false);
        _session = new LeaseSession(_store, lease, now, _time, _options.KeepAliveInterval, _log, _metrics);
        _session.Start();
        _work = CancellationTokenSource.CreateLinkedTokenSource(_session.Lost, _stopping.Token);
        _view.Load(await _store.ReadSnapshotAsync(ct).ConfigureAwait(false), _time.GetUtcNow());
        EngineLog.Started(_log, Id, lease.LeaseId, lease.Ttl);
        _startedAt = _time.GetUtcNow();
        _watchLoop = Task.Run(() => WatchLoopAsync(_work.Token), CancellationToken.None);
        _scheduler = Task.Run(() => SchedulerLoopAsync(_work.Token), CancellationToken.None);
        _retention = Task.Run(() => RetentionLoopAsync(_work.Token), CancellationToken.None);
    }

    /// <summary>
    /// Graceful stop: no new claims, running steps finish at their next checkpoint and hand
    /// their records over, then the lease is revoked so others continue at once.
    /// </summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (_session is null || _stopping.IsCancellationRequested)
        {
            return;
        }
        EngineLog.Stopping(_log, Id);
        var handedOver = _running.Count;
        await _stopping.CancelAsync().ConfigureAwait(false);
        var all = Task.WhenAll(_running.Values.Append(_scheduler));
        await Task.WhenAny(all, Task.Delay(_options.StopTimeout, _time, ct)).ConfigureAwait(false);
        await _session.RevokeAsync(ct).ConfigureAwait(false);
        await Quiet(_watchLoop).ConfigureAwait(false);
        EngineLog.Stopped(_log, Id, handedOver);
    }

    /// <summary>
    /// Dies like <c>kill -9</c>: every step stops where it is, no record is released and the
    /// lease is not revoked; successors take over once it expires.
    /// </summary>
    public void Kill()
    {
        if (_session is null)
        {
            return;
        }
        EngineLog.Killed(_log, Id, _running.Count);
        _killed = true;
        _session.Abandon();
    }

    public async ValueTask DisposeAsync()
    {
        if (_session is not null && !_session.IsLost)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        await Quiet(_scheduler).ConfigureAwait(false);
        await Quiet(_watchLoop).ConfigureAwait(false);
        await Quiet(_retention).ConfigureAwait(false);
        await Quiet(Task.WhenAll(_running.Values)).ConfigureAwait(false);
        if (_session is not null)
        {
            await _session.DisposeAsync().ConfigureAwait(false);
        }
        _work?.Dispose();
        _stopping.Dispose();
    }

    private async Task WatchLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        var fresh = false; // the view was just loaded by StartAsync
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (fresh)
                {
                    _view.Load(await _store.ReadSnapshotAsync(ct).ConfigureAwait(false), _time.GetUtcNow());
                }
                fresh = true;
                using var round = CancellationTokenSource.CreateLinkedTokenSource(ct);
                round.CancelAfter(_options.ResyncInterval);
                await foreach (var change in _store.WatchAsync(_view.Revision, round.Token).ConfigureAwait(false))
                {
                    _view.Apply(change, _time.GetUtcNow());
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Periodic resync: re-read everything, watch again.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                EngineLog.WatchFailed(_log, Id, ex.Message);
                var backoff = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures, 6))));
                try
                {
                    await Task.Delay(backoff, _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task SchedulerLoopAsync(CancellationToken ct)
    {
        var session = _session!;
        while (!ct.IsCancellationRequested)
        {
            var wake = _view.WaitForChangeAsync();
            var done = _runnerDone.WaitAsync();
            var now = _time.GetUtcNow();
            // This daemon's share of the installation-wide Nova call limit.
            _novaLimit.Limit = Math.Max(1, _options.Policy.MaxConcurrentNovaCalls / Math.Max(1, _view.LiveDaemons().Count));
            var capacity = Capacity(now);
            if (_running.Count >= capacity)
            {
                // Full: nothing could be launched, so the view is not scanned (at 1,000 waiting
                // records every watch event rescanned all of them in each daemon). A runner's
                // end, or the ramp-up's next step, is what can change that.
                var step = capacity < _options.MaxConcurrentRecords
                    ? TimeSpan.FromMilliseconds(Math.Max(50, _options.ClaimRampUp.TotalMilliseconds / 10))
                    : _options.ResyncInterval;
                using (var sleeping = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    await Task.WhenAny(done, Task.Delay(step, _time, sleeping.Token)).ConfigureAwait(false);
                    await sleeping.CancelAsync().ConfigureAwait(false); // no timer left behind per runner's end
                }
                continue;
            }
            var slotFreed = _view.WhenSlotFreedOrAskedAsync();
            var (ready, next) = _view.Claimable(Id, now, _options.ClaimGrace, key => _running.ContainsKey(key) || InCooldown(key, now));
            var maxInFlight = _options.Policy.MaxInFlightEvacuations;
            var slotsLeft = true;
            foreach (var key in ready)
            {
                if (_running.Count >= capacity)
                {
                    break;
                }
                if (maxInFlight > 0 && key.Kind == RecordKind.Instance && _view.NeedsSlot(key.Id))
                {
                    // An accepted record starts only with a slot reserved for it (its runner's
                    // attempt uses that reservation; it is released if the decision is not an
                    // attempt). With none free it stays unowned and unwritten: a slot freed in
                    // etcd or by a reservation wakes this loop.
                    if (!slotsLeft || _view.ReserveSlot(key.Id, maxInFlight) is null)
                    {
                        slotsLeft = false;
                        continue;
                    }
                }
                Launch(key, session);
            }
            if (capacity < _options.MaxConcurrentRecords && ready.Count > _running.Count)
            {
                next = Earliest(next, now + TimeSpan.FromMilliseconds(Math.Max(50, _options.ClaimRampUp.TotalMilliseconds / 10)));
            }
            foreach (var (k, until) in _cooldown)
            {
                if (until <= now)
                {
                    _cooldown.TryRemove(k, out _);
                }
            }
            var wakeAt = Earliest(next, _cooldown.IsEmpty ? null : _cooldown.Values.Min());
            var delay = wakeAt is { } at ? at - now : _options.ResyncInterval;
            if (delay < TimeSpan.FromMilliseconds(1))
            {
                delay = TimeSpan.FromMilliseconds(1);
            }
            if (delay > _options.ResyncInterval)
            {
                delay = _options.ResyncInterval;
            }
            try
            {
                await Task.WhenAny(wake, done, slotFreed, Task.Delay(delay, _time, ct)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Claim capacity: ramps from one record to the cap over <see cref="EngineOptions.ClaimRampUp"/> after the start.</summary>
    private int Capacity(DateTimeOffset now)
    {
        var ramp = _options.ClaimRampUp;
        if (ramp <= TimeSpan.Zero)
        {
            return _options.MaxConcurrentRecords;
        }
        var share = Math.Clamp((now - _startedAt) / ramp, 0, 1);
        return Math.Max(1, (int)Math.Ceiling(_options.MaxConcurrentRecords * share));
    }

    /// <summary>
    /// Retention: the daemon that rendezvous hashing prefers for the sweep deletes terminal
    /// records past <see cref="EngineOptions.Retention"/>; deletes are guarded, so a second
    /// sweeper only loses races.
    /// </summary>
    private async Task RetentionLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RetentionSweepInterval, _time, ct).ConfigureAwait(false);
                await SweepExpiredAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                EngineLog.WatchFailed(_log, Id, ex.Message);
            }
        }
    }

    /// <summary>
    /// One retention sweep, if this daemon is the one rendezvous hashing prefers for it:
    /// deletes unowned terminal records last changed more than <see cref="EngineOptions.Retention"/> ago.
    /// Returns how many it deleted.
    /// </summary>
    internal async Task<int> SweepExpiredAsync(CancellationToken ct)
    {
        if (StoreView.Preferred(new RecordKey(RecordKind.Host, "retention"), _view.LiveDaemons().Append(Id).Distinct().ToList()) != Id)
        {
            return 0;
        }
        var deleted = 0;
        foreach (var v in _view.ExpiredRecords(_time.GetUtcNow() - _options.Retention))
        {
            if ((await _store.DeleteInstanceIfAsync(v.Value.Id, v.Revision, ct).ConfigureAwait(false)).Ok)
            {
                deleted++;
            }
        }
        return deleted;
    }

    private void Launch(RecordKey key, LeaseSession session)
    {
        var ctx = new RunnerContext(Id, _store, _compute, _time, _options, session, _view, _observer, _log, _metrics);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _running[key] = gate.Task;
        _ = Task.Run(async () =>
        {
            var cooldown = _options.Workflow.PollInterval;
            try
            {
                if (key.Kind == RecordKind.Host)
                {
                    await new HostRunner(ctx).RunAsync(key.Id, session.Lost, _stopping.Token).ConfigureAwait(false);
                }
                else
                {
                    await new InstanceRunner(ctx).RunAsync(key.Id, session.Lost, _stopping.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (session.IsLost || _stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                EngineLog.RunnerCrashed(_log, ex, key.ToString());
                cooldown = _options.FailedRunnerCooldown;
            }
            finally
            {
                // A record this runner left unfinished and unowned is not picked again at once.
                _cooldown[key] = _time.GetUtcNow() + cooldown;
                _running.TryRemove(key, out _);
                gate.TrySetResult();
                _runnerDone.Set();
            }
        });
    }

    private bool InCooldown(RecordKey key, DateTimeOffset now)
    {
        if (!_cooldown.TryGetValue(key, out var until))
        {
            return false;
        }
        if (until <= now)
        {
            _cooldown.TryRemove(key, out _);
            return false;
        }
        return true;
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : (a < b ? a : b);

    private static async Task Quiet(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
