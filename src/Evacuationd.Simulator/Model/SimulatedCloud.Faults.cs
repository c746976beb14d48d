using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    private readonly FaultInjector _faults;

    /// <summary>The injector (the HTTP layer plans request faults with it; tests wait on its holds).</summary>
    internal FaultInjector FaultInjector => _faults;

    /// <summary>The fault rules in force and the seed of their generator.</summary>
    public FaultSettings GetFaults() => _faults.Current;

    /// <summary>Replaces the whole fault set (throws <see cref="ArgumentException"/> on an invalid rule,
    /// changing nothing). A <paramref name="seed"/> restarts the fault generator; without one it continues.</summary>
    public FaultSettings SetFaults(IEnumerable<FaultSpec> faults, int? seed = null) => _faults.Set(faults, seed);

    /// <summary>Removes every fault rule (counters and the generator are kept).</summary>
    public FaultSettings ClearFaults() => _faults.Set([], null);

    /// <summary>Counts an evacuate call that an injected fault answered before it reached the model
    /// (<paramref name="status"/>: the 5xx answered, or 0 for a request never answered).</summary>
    internal void RecordFaultedEvacuate(string uuid, int status, string? requestId, string fault)
    {
        lock (_gate)
        {
            var now = Advance();
            var source = _instances.TryGetValue(uuid, out var i) && !i.Deleted ? i.Host : null;
            var host = source is not null && _hostsByName.TryGetValue(source, out var h) ? h : null;
            _evacuateCalls.Add(new EvacuateCallRecord(
                now, uuid, source, null, status, requestId, host?.ForcedDown ?? false, host is null ? null : ServiceState(host, now), false)
            {
                Fault = fault,
            });
        }
    }

    /// <summary>The answer of the evacuate call made by <paramref name="requestId"/> (if it was one) was replaced
    /// by an injected fault after the model handled it: <paramref name="answered"/> is what the client got (0: nothing).</summary>
    internal void MarkEvacuateAnswer(string requestId, int answered, string fault)
    {
        lock (_gate)
        {
            for (var k = _evacuateCalls.Count - 1; k >= 0; k--)
            {
                if (_evacuateCalls[k].RequestId == requestId)
                {
                    _evacuateCalls[k] = _evacuateCalls[k] with { AnsweredStatus = answered, Fault = fault };
                    return;
                }
            }
        }
    }

    /// <summary>Draws the model-level faults of an evacuation the conductor will run (under the lock).</summary>
    private void DrawEvacuationFaults(EvacuationJob job)
    {
        bool FromSource(FaultSpec f) => f.Host is null || f.Host == job.Source;
        job.InjectNoValidHost = _faults.Pick(FaultKinds.NoValidHost, FromSource) is not null;
        job.InjectRebuildError = !job.InjectNoValidHost && _faults.Pick(FaultKinds.EvacuateError, FromSource) is not null;
    }

    /// <summary>Does a refuse-force-down rule fire for this host's force-down (under the lock)?</summary>
    private bool RefusesForceDown(SimHost host) =>
        _faults.Pick(FaultKinds.RefuseForceDown, f => f.Host is null || f.Host == host.Name) is not null;
}
