using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator;

/// <summary>Settings of a simulated cloud (evacsim).</summary>
public sealed record SimulatorOptions
{
    /// <summary>Number of compute hosts created by <see cref="Model.SimulatedCloud.CreatePopulated"/>.</summary>
    public int Hosts { get; init; } = 3;

    /// <summary>Instances created on every host by <see cref="Model.SimulatedCloud.CreatePopulated"/>.</summary>
    public int InstancesPerHost { get; init; } = 4;

    /// <summary>Duration R of one evacuation (rebuild), measured from the evacuate call in model time.</summary>
    public TimeSpan Rebuild { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Nova's service_down_time: a powered-off host's service reads "down" after this.</summary>
    public TimeSpan ServiceDownTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Delay after a power-on before <c>done</c> evacuation migrations become <c>completed</c>.</summary>
    public TimeSpan Cleanup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Lifetime of a Keystone token (model time).</summary>
    public TimeSpan TokenTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Kestrel listen URL; port 0 picks a free port.</summary>
    public string Listen { get; init; } = "http://127.0.0.1:8774";

    /// <summary>Seed of the random generators (ids, tokens and injected faults are deterministic for a seed;
    /// faults draw from their own generator, so turning them on does not change the ids).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Highest compute microversion served (Nova Zed: 2.93).</summary>
    public string MaxMicroversion { get; init; } = "2.93";

    /// <summary>How many evacuations the simulated conductor rebuilds at once; more wait (migration
    /// <c>accepted</c>, task_state rebuilding) and start when one ends. 0 = unlimited (each takes R).</summary>
    public int MaxParallelRebuilds { get; init; }

    /// <summary>Region name in the catalog.</summary>
    public string Region { get; init; } = "RegionOne";

    /// <summary>Fault rules in force from the start (see <see cref="FaultKinds"/>); replaceable at run time
    /// with <see cref="Model.SimulatedCloud.SetFaults"/> or <c>PUT /_sim/faults</c>.</summary>
    public IReadOnlyList<FaultSpec> Faults { get; init; } = [];
}
