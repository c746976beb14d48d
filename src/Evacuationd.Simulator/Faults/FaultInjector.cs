namespace Evacuationd.Simulator.Faults;

/// <summary>What the HTTP layer does to one request: at most one delay and at most one failure.</summary>
internal sealed record RequestFaultPlan(FaultSpec? Latency, FaultSpec? Failure)
{
    public static readonly RequestFaultPlan None = new(null, null);

    public bool IsEmpty => Latency is null && Failure is null;

    /// <summary>"latency", "5xx", "latency+timeout", ... for the request log; null when empty.</summary>
    public string? Describe() => (Latency, Failure) switch
    {
        (null, null) => null,
        ({ } l, null) => l.Kind,
        (null, { } f) => f.Kind,
        ({ } l, { } f) => l.Kind + "+" + f.Kind,
    };
}

/// <summary>
/// The fault rules in force, their seeded random generator and the injection counters. Thread-safe
/// (its own lock, taken after the model's when the model calls in). Every rule that is eligible
/// (its filters match) and has 0 &lt; p &lt; 1 draws exactly one number from the generator, in rule
/// order, so a fixed seed and a fixed order of calls give the same faults.
/// </summary>
internal sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, int> _injected = new(StringComparer.Ordinal);
    private readonly List<(long Count, TaskCompletionSource Signal)> _holdWaiters = [];
    private Random _random;
    private int _seed;
    private IReadOnlyList<FaultSpec> _faults;
    private long _holds;

    public FaultInjector(IEnumerable<FaultSpec> faults, int seed)
    {
        _faults = Checked(faults);
        _seed = seed;
        _random = new Random(seed);
    }

    /// <summary>The rules and the seed.</summary>
    public FaultSettings Current
    {
        get
        {
            lock (_lock)
            {
                return new FaultSettings(_seed, _faults);
            }
        }
    }

    /// <summary>Replaces the rules (all or nothing); a seed restarts the generator.</summary>
    public FaultSettings Set(IEnumerable<FaultSpec> faults, int? seed)
    {
        var checkedFaults = Checked(faults);
        lock (_lock)
        {
            _faults = checkedFaults;
            if (seed is { } s)
            {
                _seed = s;
                _random = new Random(s);
            }

            return new FaultSettings(_seed, _faults);
        }
    }

    /// <summary>Decides the request-level faults of one Keystone/Nova/Glance request and counts them.</summary>
    public RequestFaultPlan PlanRequest(string method, string path)
    {
        lock (_lock)
        {
            if (_faults.Count == 0)
            {
                return RequestFaultPlan.None;
            }

            FaultSpec? latency = null;
            FaultSpec? failure = null;
            foreach (var f in _faults)
            {
                if (!FaultKinds.IsRequestKind(f.Kind) || !Matches(f, method, path))
                {
                    continue;
                }

                if (f.Kind == FaultKinds.Latency)
                {
                    if (latency is null && Fires(f))
                    {
                        latency = f;
                    }
                }
                else if (failure is null && Fires(f))
                {
                    failure = f;
                }
            }

            if (latency is not null)
            {
                CountLocked(latency.Kind);
            }

            if (failure is not null)
            {
                CountLocked(failure.Kind);
            }

            return latency is null && failure is null ? RequestFaultPlan.None : new RequestFaultPlan(latency, failure);
        }
    }

    /// <summary>The first rule of <paramref name="kind"/> accepted by <paramref name="eligible"/> that fires
    /// (draws for each eligible rule until one fires); not counted (the caller counts when it takes effect).</summary>
    public FaultSpec? Pick(string kind, Func<FaultSpec, bool> eligible)
    {
        lock (_lock)
        {
            foreach (var f in _faults)
            {
                if (f.Kind == kind && eligible(f) && Fires(f))
                {
                    return f;
                }
            }

            return null;
        }
    }

    /// <summary>Counts one injected fault of <paramref name="kind"/>.</summary>
    public void Count(string kind)
    {
        lock (_lock)
        {
            CountLocked(kind);
        }
    }

    /// <summary>Total and per-kind counts of injected faults.</summary>
    public (int Total, IReadOnlyDictionary<string, int> ByKind) Counts()
    {
        lock (_lock)
        {
            return (_injected.Values.Sum(), new SortedDictionary<string, int>(_injected, StringComparer.Ordinal));
        }
    }

    /// <summary>The HTTP layer started holding a request (latency or timeout); its delay timer exists.</summary>
    public void NoteHold()
    {
        List<TaskCompletionSource> ready = [];
        lock (_lock)
        {
            _holds++;
            for (var i = _holdWaiters.Count - 1; i >= 0; i--)
            {
                if (_holdWaiters[i].Count <= _holds)
                {
                    ready.Add(_holdWaiters[i].Signal);
                    _holdWaiters.RemoveAt(i);
                }
            }
        }

        foreach (var signal in ready)
        {
            signal.TrySetResult();
        }
    }

    /// <summary>Completes once <paramref name="count"/> holds have started since the cloud was built
    /// (lets tests advance a fake clock only after the delay timer is armed).</summary>
    public Task WhenHoldsStarted(long count)
    {
        lock (_lock)
        {
            if (_holds >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _holdWaiters.Add((count, signal));
            return signal.Task;
        }
    }

    private static List<FaultSpec> Checked(IEnumerable<FaultSpec> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var list = faults.ToList();
        foreach (var f in list)
        {
            if (f is null)
            {
                throw new ArgumentException("a fault rule is null", nameof(faults));
            }

            if (f.Validate() is { } error)
            {
                throw new ArgumentException(error, nameof(faults));
            }
        }

        return list;
    }

    private static bool Matches(FaultSpec f, string method, string path) =>
        (f.Path is null || path.Contains(f.Path, StringComparison.Ordinal))
        && (f.Method is null || string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase));

    /// <summary>p = 1 always fires and p = 0 never does, neither drawing; otherwise one draw.</summary>
    private bool Fires(FaultSpec f) => f.P >= 1 || (f.P > 0 && _random.NextDouble() < f.P);

    private void CountLocked(string kind) => _injected[kind] = _injected.GetValueOrDefault(kind) + 1;
}
