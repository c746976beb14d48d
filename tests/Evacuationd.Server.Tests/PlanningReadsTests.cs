using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using RecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Tests;

/// <summary>
/// What Nova is asked between a fencing and its evacuate calls (three daemons, evacsim): the
/// service read once (the answers to force-down and disable are not read again), the host's
/// servers and migrations once by the plan, and nothing per record before its first call: the
/// planning daemon takes the fresh records and starts them from what the plan read.
/// </summary>
public sealed class PlanningReadsTests
{
    [Fact]
    public async Task AFencedHostsEvacuationsStartFromThePlansOwnReads()
    {
        await using var t = await TestCloud.StartAsync(daemons: 3, instancesPerHost: 6, rebuild: TimeSpan.FromMilliseconds(200));
        var api = new Operator.OperatorClient(t.Channel);
        t.Sim.PowerOff("compute-01");
        var before = t.Sim.GetRequestLog().Count;

        await api.FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
        await t.WaitForFencingEndAsync("compute-01", TimeSpan.FromSeconds(30));

        var log = t.Sim.GetRequestLog().Skip(before).ToList();
        static bool IsEvacuate(Evacuationd.Simulator.Model.RequestRecord r) => r.Method == "POST" && r.Path.EndsWith("/action", StringComparison.Ordinal);
        var forceDown = log.FindIndex(r => r.Method == "PUT" && r.Path.Contains("os-services/", StringComparison.Ordinal));
        var lastEvacuate = log.FindLastIndex(IsEvacuate);
        Assert.True(forceDown >= 0 && lastEvacuate > forceDown, "no force-down, or no evacuate call after it");
        // From the force-down to the last evacuate call (the intake's own service checks come before).
        var planning = log.Skip(forceDown).Take(lastEvacuate + 1 - forceDown).ToList();
        int Count(string method, string path) => planning.Count(r => r.Method == method && r.Path.Contains(path, StringComparison.Ordinal));

        Assert.Equal(0, Count("GET", "os-services")); // Nova's answers to the two updates are not read again
        Assert.Equal(2, Count("PUT", "os-services/")); // force-down, disable
        Assert.Equal(1, Count("GET", "servers/detail")); // the plan's listing, nothing per record
        Assert.Equal(1, Count("GET", "os-migrations"));
        Assert.Equal(0, planning.Count(r => r.Method == "GET" && r.Path.Contains("/servers/", StringComparison.Ordinal)
                                            && !r.Path.Contains("servers/detail", StringComparison.Ordinal))); // no single server read
        Assert.Equal(6, planning.Count(IsEvacuate));
        var records = await t.Cloud.Store.ListInstancesAsync("compute-01", 0, CancellationToken.None);
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.Equal(RecordState.Done, r.Value.State));
        // One daemon (the planner) drove them all.
        Assert.Single(records.Select(r => r.Value.History.First(h => h.To == "evacuating").Daemon).Distinct());
        Assert.Equal(0, t.Sim.GetStats().DuplicateEvacuations);
    }
}
