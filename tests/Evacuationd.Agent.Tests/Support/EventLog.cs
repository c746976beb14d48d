namespace Evacuationd.Agent.Tests.Support;

/// <summary>
/// What the fake daemon and the fake hypervisor saw, in the order they saw it (one timeline
/// for both, so a test can tell that a guest was destroyed before the gate was asked).
/// </summary>
internal sealed class EventLog
{
    private readonly object gate = new();
    private readonly List<string> events = [];
    private readonly List<(Func<IReadOnlyList<string>, bool> Done, TaskCompletionSource Signal)> waiters = [];

    public void Add(string text)
    {
        List<TaskCompletionSource> ready;
        lock (gate)
        {
            events.Add(text);
            ready = waiters.Where(w => w.Done(events)).Select(w => w.Signal).ToList();
            waiters.RemoveAll(w => ready.Contains(w.Signal));
        }

        foreach (var signal in ready)
        {
            signal.TrySetResult();
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (gate)
        {
            return [.. events];
        }
    }

    /// <summary>The position of the first event starting with <paramref name="prefix"/>; fails when there is none.</summary>
    public int IndexOf(string prefix)
    {
        var all = Snapshot();
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i].StartsWith(prefix, StringComparison.Ordinal))
            {
                return i;
            }
        }

        Assert.Fail($"no event starting with '{prefix}' in:\n{string.Join("\n", all)}");
        return -1;
    }

    public int Count(string prefix) => Snapshot().Count(e => e.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Completes once at least <paramref name="count"/> events start with <paramref name="prefix"/> (10 s real-time limit).</summary>
    public Task WaitForAsync(string prefix, int count = 1)
    {
        bool Done(IReadOnlyList<string> all) => all.Count(e => e.StartsWith(prefix, StringComparison.Ordinal)) >= count;
        Task wait;
        lock (gate)
        {
            if (Done(events))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((Done, signal));
            wait = signal.Task;
        }

        return wait.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public override string ToString() => string.Join("\n", Snapshot());
}
