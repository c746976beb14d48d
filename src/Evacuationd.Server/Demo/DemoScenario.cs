using Evacuationd.Core.Engine;
using Evacuationd.Core.Workflow;
using Evacuationd.Server.Embedded;

namespace Evacuationd.Server.Demo;

/// <summary>The demo's cloud and timings. The defaults make a run of about 15 s.</summary>
public sealed record DemoScenario
{
    public string FencedHost { get; init; } = "compute-01";

    public int Hosts { get; init; } = 4;

    public int InstancesPerHost { get; init; } = 8;

    public TimeSpan Rebuild { get; init; } = TimeSpan.FromSeconds(2);

    public int Daemons { get; init; } = 3;

    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Records one daemon drives at once: small, so the work runs in waves and the kill finds some in flight and some waiting.</summary>
    public int MaxConcurrentPerDaemon { get; init; } = 3;

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Kill the busiest daemon once this many instance records are in flight.</summary>
    public int KillWhenInFlight { get; init; } = 3;

    /// <summary>Give up (exit 1) if the fencing has not ended by then.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>A scenario fast enough for tests.</summary>
    public static DemoScenario Fast => new()
    {
        Rebuild = TimeSpan.FromMilliseconds(600),
        LeaseTtl = TimeSpan.FromSeconds(1.5),
        PollInterval = TimeSpan.FromMilliseconds(100),
        InstancesPerHost = 6,
    };

    internal EmbeddedCloudOptions CloudOptions() => new()
    {
        Hosts = Hosts,
        InstancesPerHost = InstancesPerHost,
        Rebuild = Rebuild,
        Daemons = Daemons,
        GrpcListen = "http://127.0.0.1:0",
        Metrics = new Metrics.MetricsOptions { Listen = "http://127.0.0.1:0" },
        Engine = new EngineOptions
        {
            LeaseTtl = LeaseTtl,
            KeepAliveInterval = LeaseTtl / 3,
            LeaseSafetyMargin = LeaseTtl / 6,
            MaxConcurrentRecords = MaxConcurrentPerDaemon,
            ClaimRampUp = TimeSpan.Zero, // every daemon starts with the cloud: nothing to ramp up after
            ClaimGrace = LeaseTtl / 6,
            ResyncInterval = TimeSpan.FromSeconds(30),
            Workflow = new WorkflowOptions
            {
                PollInterval = PollInterval,
                CallSettle = LeaseTtl * 2,
                BackoffBase = TimeSpan.FromSeconds(1),
                BackoffMax = TimeSpan.FromSeconds(5),
                RebuildTimeout = TimeSpan.FromSeconds(60),
                TaskStateTimeout = TimeSpan.FromSeconds(30),
            },
        },
    };
}
