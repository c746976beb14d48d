namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    private const int MaxRequestRecords = 100_000;
    private readonly Queue<RequestRecord> _requests = new();

    private int _computeRequestsNow;
    private int _computeRequestsMax;

    /// <summary>Counts a Nova request being served until the returned handle is disposed.</summary>
    public IDisposable ComputeRequestStarted()
    {
        var now = Interlocked.Increment(ref _computeRequestsNow);
        int max;
        while (now > (max = Volatile.Read(ref _computeRequestsMax)) && Interlocked.CompareExchange(ref _computeRequestsMax, now, max) != max)
        {
        }
        return new ComputeRequest(this);
    }

    private sealed class ComputeRequest(SimulatedCloud cloud) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref cloud._computeRequestsNow);
            }
        }
    }

    /// <summary>Counters for <c>GET /_sim/stats</c>.</summary>
    public SimStats GetStats()
    {
        lock (_gate)
        {
            var now = Advance();
            var accepted = _evacuateCalls.Where(c => c.StatusCode == 200).ToList();
            var perInstance = accepted.GroupBy(c => c.InstanceUuid, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var perHost = accepted.GroupBy(c => c.SourceHost ?? "(none)", StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var live = _instances.Values.Where(i => !i.Deleted).ToList();
            var byHost = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
            foreach (var h in _hosts)
            {
                byHost[h.Name] = new SortedDictionary<string, int>(StringComparer.Ordinal);
            }

            foreach (var g in live.GroupBy(i => i.Host ?? "(none)", StringComparer.Ordinal))
            {
                byHost[g.Key] = new SortedDictionary<string, int>(
                    g.GroupBy(i => i.VmState, StringComparer.Ordinal).ToDictionary(s => s.Key, s => s.Count(), StringComparer.Ordinal),
                    StringComparer.Ordinal);
            }

            var (injected, injectedByKind) = _faults.Counts();
            var byState = new SortedDictionary<string, int>(
                live.GroupBy(i => i.VmState, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
                StringComparer.Ordinal);
            return new SimStats(
                perInstance,
                accepted.Count,
                _evacuateCalls.Count(c => c.StatusCode is >= 400 and < 500),
                _duplicateEvacuations,
                byHost,
                byState,
                injected,
                _hosts.Select(h => new HostStats(h.Name, h.Powered, ServiceState(h, now), h.ForcedDown, h.Disabled ? "disabled" : "enabled")).ToList(),
                perHost,
                accepted.All(c => c.SourceForcedDown || c.SourceServiceState == "down"),
                accepted.Count(c => !c.SourceForcedDown))
            {
                FaultsInjected = injectedByKind,
                MaxConcurrentComputeRequests = Volatile.Read(ref _computeRequestsMax),
            };
        }
    }

    /// <summary>Records an answered request (the HTTP layer calls this for every Keystone/Nova/Glance request).</summary>
    public void RecordRequest(string requestId, string method, string path, int statusCode) =>
        RecordRequest(requestId, method, path, statusCode, null);

    /// <summary>Records an answered request with the injected faults applied to it (null: none).</summary>
    public void RecordRequest(string requestId, string method, string path, int statusCode, string? fault)
    {
        lock (_gate)
        {
            _requests.Enqueue(new RequestRecord(requestId, Time.GetUtcNow(), method, path, statusCode) { Fault = fault });
            while (_requests.Count > MaxRequestRecords)
            {
                _requests.Dequeue();
            }
        }
    }

    /// <summary>The recorded requests (the newest 100,000), oldest first.</summary>
    public IReadOnlyList<RequestRecord> GetRequestLog()
    {
        lock (_gate)
        {
            return _requests.ToList();
        }
    }
}
