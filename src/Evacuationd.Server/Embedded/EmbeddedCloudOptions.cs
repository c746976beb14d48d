using Evacuationd.Core.Engine;

namespace Evacuationd.Server.Embedded;

/// <summary>The embedded default (demo, dev): section "Dev" of the configuration.</summary>
public sealed class EmbeddedCloudOptions
{
    /// <summary>Compute hosts in the simulated cloud (compute-01, ...). Default 4.</summary>
    public int Hosts { get; set; } = 4;

    /// <summary>Instances per host. Default 6.</summary>
    public int InstancesPerHost { get; set; } = 6;

    /// <summary>How long the simulated Nova takes to rebuild one instance. Default 3 s.</summary>
    public TimeSpan Rebuild { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Daemons running in the process. Default 3.</summary>
    public int Daemons { get; set; } = 3;

    /// <summary>Where evacsim listens (port 0 = any free port). Default http://127.0.0.1:0.</summary>
    public string SimulatorListen { get; set; } = "http://127.0.0.1:0";

    /// <summary>The gRPC endpoint (plaintext, loopback only). Default http://127.0.0.1:50077.</summary>
    public string GrpcListen { get; set; } = "http://127.0.0.1:50077";

    /// <summary>Engine settings for every embedded daemon (daemon ids are daemon-1, daemon-2, ...).</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>The Prometheus scrape endpoint (Dev:Metrics:Listen, or Metrics:Listen); empty: none.</summary>
    public Metrics.MetricsOptions Metrics { get; set; } = new();

    public IReadOnlyList<string> Validate(string section = "Dev")
    {
        var errors = new List<string>();
        if (Hosts is < 2 or > 1000)
        {
            errors.Add($"{section}:Hosts must be between 2 and 1000 (got {Hosts}).");
        }
        if (InstancesPerHost is < 0 or > 1000)
        {
            errors.Add($"{section}:InstancesPerHost must be between 0 and 1000 (got {InstancesPerHost}).");
        }
        if (Rebuild < TimeSpan.Zero)
        {
            errors.Add($"{section}:Rebuild must not be negative (got {Rebuild}).");
        }
        if (Daemons is < 1 or > 16)
        {
            errors.Add($"{section}:Daemons must be between 1 and 16 (got {Daemons}).");
        }
        errors.AddRange(Engine.Validate($"{section}:Engine"));
        errors.AddRange(Metrics.Validate($"{section}:Metrics"));
        return errors;
    }
}
