using Evacuationd.Core.Metrics;
using Evacuationd.Core.Store;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Core.Engine;

/// <summary>
/// Keeps one daemon's lease alive on its own loop, so that slow work can never make a live
/// daemon look dead, and knows when the lease must be considered lost: at the latest at
/// (send time of the last acknowledged keepalive + TTL), even if the store cannot be
/// reached to say so. Losing the lease cancels <see cref="Lost"/>, which every step of the
/// daemon is linked to (S3).
/// </summary>
public sealed partial class LeaseSession : IAsyncDisposable
{
    private readonly IEvacuationStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger _log;
    private readonly EvacuationMetrics? _metrics;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopLoop = new();
    private readonly ITimer _deadlineTimer;
    private readonly object _gate = new();
    private DateTimeOffset _deadline;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <param name="metrics">Records keepalive round trips and lost leases (a revoked lease is not lost).</param>
    public LeaseSession(IEvacuationStore store, DaemonLease lease, DateTimeOffset grantedAt, TimeProvider time, TimeSpan keepAliveInterval, ILogger log, EvacuationMetrics? metrics = null)
    {
        _metrics = metrics;
        _store = store;
        Lease = lease;
        _time = time;
        _interval = keepAliveInterval;
        _log = log;
        _deadline = grantedAt + lease.Ttl;
        _deadlineTimer = time.CreateTimer(_ => OnDeadline(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ArmDeadline();
    }

    public DaemonLease Lease { get; }

    /// <summary>Cancelled once the lease is lost or abandoned: stop every write at once.</summary>
    public CancellationToken Lost => _lost.Token;

    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>The moment the lease must be considered gone unless renewed before.</summary>
    public DateTimeOffset Deadline
    {
        get { lock (_gate) { return _deadline; } }
    }

    /// <summary>True if the lease is known valid for at least <paramref name="margin"/> from now.</summary>
    public bool IsValidFor(TimeSpan margin) => !IsLost && _time.GetUtcNow() + margin < Deadline;

    /// <summary>Starts the keepalive loop.</summary>
    public void Start() => _loop = Task.Run(() => KeepAliveLoopAsync(_stopLoop.Token));

    /// <summary>Stops renewing without revoking, as a crashed daemon would (the lease then expires).</summary>
    public void Abandon()
    {
        _stopLoop.Cancel();
        MarkLost("abandoned");
    }

    /// <summary>Revokes the lease so others can take over at once (graceful stop).</summary>
    public async Task RevokeAsync(CancellationToken ct)
    {
        _stopLoop.Cancel();
        MarkLost("revoked", expected: true);
        try
        {
            await _store.RevokeLeaseAsync(Lease, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException)
        {
            Log.RevokeFailed(_log, Lease.DaemonId, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _stopLoop.Cancel();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _deadlineTimer.Dispose();
        _lost.Dispose();
        _stopLoop.Dispose();
    }

    private async Task KeepAliveLoopAsync(CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested && !IsLost)
        {
            var delay = failures == 0 ? _interval : TimeSpan.FromMilliseconds(Math.Min(_interval.TotalMilliseconds, 200 * failures));
            try
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var sentAt = _time.GetUtcNow();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop, _lost.Token);
                var remaining = Deadline - sentAt;
                if (remaining <= TimeSpan.Zero)
                {
                    MarkLost("deadline passed before renewal");
                    return;
                }
                timeout.CancelAfter(remaining);
                var started = _time.GetTimestamp();
                var result = await _store.KeepAliveAsync(Lease, timeout.Token).ConfigureAwait(false);
                _metrics?.LeaseRenewed(_time.GetElapsedTime(started).TotalSeconds);
                if (!result.Alive)
                {
                    MarkLost("the store no longer has the lease");
                    return;
                }
                failures = 0;
                lock (_gate)
                {
                    var candidate = sentAt + result.Ttl;
                    if (candidate > _deadline)
                    {
                        _deadline = candidate;
                    }
                }
                ArmDeadline();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || IsLost)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                Log.KeepAliveFailed(_log, Lease.DaemonId, failures, ex.Message);
            }
        }
    }

    private void ArmDeadline()
    {
        var due = Deadline - _time.GetUtcNow();
        try
        {
            _deadlineTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void OnDeadline()
    {
        if (_time.GetUtcNow() >= Deadline)
        {
            MarkLost("no renewal acknowledged before the lease deadline");
        }
        else
        {
            ArmDeadline();
        }
    }

    private void MarkLost(string why, bool expected = false)
    {
        lock (_gate)
        {
            if (_lost.IsCancellationRequested)
            {
                return;
            }
            if (expected)
            {
                Log.LeaseEnded(_log, Lease.DaemonId, Lease.LeaseId, why);
            }
            else
            {
                Log.LeaseLost(_log, Lease.DaemonId, Lease.LeaseId, why);
                _metrics?.LeaseLost();
            }
        }
        try
        {
            _lost.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Daemon {Daemon} lost its lease {LeaseId:x}: {Why}; all its work stops")]
        public static partial void LeaseLost(ILogger logger, string daemon, long leaseId, string why);

        [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Daemon {Daemon} ended its lease {LeaseId:x}: {Why}")]
        public static partial void LeaseEnded(ILogger logger, string daemon, long leaseId, string why);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Daemon {Daemon}: lease keepalive failed ({Failures} in a row): {Error}")]
        public static partial void KeepAliveFailed(ILogger logger, string daemon, int failures, string error);

        [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Daemon {Daemon}: revoking the lease failed ({Error}); it expires by itself")]
        public static partial void RevokeFailed(ILogger logger, string daemon, string error);
    }
}
