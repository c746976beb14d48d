using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Testing.Time;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that counts the timers armed with a finite due time
/// (what <c>Task.Delay(…, timeProvider)</c> creates), so a test can wait until a background
/// loop is really sleeping before it advances the clock. Timers created disarmed
/// (due time infinite, e.g. a deadline timer armed later with <c>Change</c>) are not counted.
/// </summary>
public sealed class ObservableFakeTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private int _armed;

    /// <summary>Timers created so far with a finite due time.</summary>
    public int ArmedTimers
    {
        get { lock (_gate) { return _armed; } }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            List<TaskCompletionSource> ready;
            lock (_gate)
            {
                _armed++;
                ready = _waiters.Where(w => w.Count <= _armed).Select(w => w.Done).ToList();
                _waiters.RemoveAll(w => w.Count <= _armed);
            }
            foreach (var r in ready)
            {
                r.TrySetResult();
            }
        }
        return timer;
    }

    /// <summary>Completes once at least <paramref name="count"/> timers were armed; fails after <paramref name="timeout"/> (default 10 s, real time).</summary>
    public Task WaitForArmedTimersAsync(int count, TimeSpan? timeout = null)
    {
        Task wait;
        lock (_gate)
        {
            if (_armed >= count)
            {
                return Task.CompletedTask;
            }
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, tcs));
            wait = tcs.Task;
        }
        return wait.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
    }
}
