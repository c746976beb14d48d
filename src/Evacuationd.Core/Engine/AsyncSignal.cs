namespace Evacuationd.Core.Engine;

/// <summary>A level-free wake-up: every <see cref="Set"/> completes the tasks handed out before it.</summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();

    /// <summary>A task that completes at the next <see cref="Set"/>.</summary>
    public Task WaitAsync()
    {
        lock (_gate)
        {
            return _tcs.Task;
        }
    }

    public void Set()
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            done = _tcs;
            _tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        done.TrySetResult();
    }
}
