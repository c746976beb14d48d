using Evacuationd.Core.Engine;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Workflow;
using Evacuationd.Server.Embedded;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>
/// The embedded default (in-memory store, daemons, evacsim over HTTP) with timings fit for
/// tests: 2 s leases, 100 ms polls, a 3 s call settle. Shared by the CLI's and the agent's
/// end-to-end tests (linked into Evacuationd.Agent.Tests).
/// </summary>
internal static class QuickCloud
{
    /// <param name="severalHostsFenced">No blast-radius hold: the tests fence several hosts of a small cloud.</param>
    public static Task<EmbeddedCloud> StartAsync(int hosts, int instancesPerHost, TimeSpan rebuild, bool severalHostsFenced = false, Action<EngineOptions>? configure = null)
    {
        var engine = new EngineOptions
        {
            LeaseTtl = TimeSpan.FromSeconds(2),
            KeepAliveInterval = TimeSpan.FromMilliseconds(500),
            ClaimRampUp = TimeSpan.Zero,
            LeaseSafetyMargin = TimeSpan.FromMilliseconds(250),
            Workflow = new WorkflowOptions { PollInterval = TimeSpan.FromMilliseconds(100), CallSettle = TimeSpan.FromSeconds(3) },
        };
        if (severalHostsFenced)
        {
            engine.Policy = new PolicyOptions { MaxHostsInWindow = 10, MaxSharePercent = 100 };
        }
        configure?.Invoke(engine);
        return EmbeddedCloud.StartAsync(new EmbeddedCloudOptions
        {
            Hosts = hosts,
            InstancesPerHost = instancesPerHost,
            Rebuild = rebuild,
            GrpcListen = "http://127.0.0.1:0",
            Engine = engine,
        }, NullLoggerFactory.Instance, _ => { });
    }
}
