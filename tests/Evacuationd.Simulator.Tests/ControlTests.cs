using System.Net;
using System.Text.Json.Nodes;

namespace Evacuationd.Simulator.Tests;

public class ControlTests
{
    [Fact]
    public async Task StatsJsonCountsEvacuationsAndHosts()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3, perHost: 2);
        var vms = c.InstancesOn("compute-01");
        await c.EvacuateAsync(vms[0]); // refused: service up

        using (var off = await c.Http.PostAsync(new Uri("_sim/hosts/compute-01/power-off", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            var host = JsonNode.Parse(await off.Content.ReadAsStringAsync())!;
            Assert.False(host["powered"]!.GetValue<bool>());
            Assert.Equal("compute-01", host["name"]!.GetValue<string>());
        }

        await c.ForceDownAsync("compute-01");
        foreach (var vm in vms)
        {
            await c.EvacuateAsync(vm);
        }

        c.Advance(100);
        await c.EvacuateAsync(vms[0]); // duplicate in flight
        c.Advance(1000);

        var stats = JsonNode.Parse(await c.Http.GetStringAsync(new Uri("_sim/stats", UriKind.Relative)))!;
        Assert.Equal(2, stats["evacuateCalls"]![vms[0]]!.GetValue<int>());
        Assert.Equal(1, stats["evacuateCalls"]![vms[1]]!.GetValue<int>());
        Assert.Equal(3, stats["evacuateCallsTotal"]!.GetValue<int>());
        Assert.Equal(1, stats["evacuateRejected"]!.GetValue<int>());
        Assert.Equal(1, stats["duplicateEvacuations"]!.GetValue<int>());
        Assert.Equal(0, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.True(stats["forcedDownBeforeEvacuate"]!.GetValue<bool>());
        Assert.Equal(3, stats["evacuateCallsByHost"]!["compute-01"]!.GetValue<int>());
        Assert.Equal(1, stats["instancesByHost"]!["compute-01"]!["error"]!.GetValue<int>());
        Assert.Null(stats["instancesByHost"]!["compute-01"]!["active"]);
        Assert.Equal(5, stats["instancesByState"]!["active"]!.GetValue<int>());
        Assert.Equal(1, stats["instancesByState"]!["error"]!.GetValue<int>());
        var hosts = stats["hosts"]!.AsArray();
        Assert.Equal(3, hosts.Count);
        var h1 = hosts[0]!;
        Assert.Equal("compute-01", h1["name"]!.GetValue<string>());
        Assert.False(h1["powered"]!.GetValue<bool>());
        Assert.Equal("down", h1["serviceState"]!.GetValue<string>());
        Assert.True(h1["forcedDown"]!.GetValue<bool>());
        Assert.Equal("enabled", h1["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task PowerOnAndUnknownHosts()
    {
        await using var c = await TestCloud.StartAsync();
        using var unknown = await c.Http.PostAsync(new Uri("_sim/hosts/compute-99/power-off", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var unknownOn = await c.Http.PostAsync(new Uri("_sim/hosts/compute-99/power-on", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknownOn.StatusCode);

        c.Cloud.PowerOff("compute-02");
        c.Advance(61_000);
        Assert.Equal("down", c.Cloud.GetHost("compute-02")!.ServiceState);
        using var on = await c.Http.PostAsync(new Uri("_sim/hosts/compute-02/power-on", UriKind.Relative), null);
        var host = JsonNode.Parse(await on.Content.ReadAsStringAsync())!;
        Assert.True(host["powered"]!.GetValue<bool>());
        Assert.Equal("up", host["serviceState"]!.GetValue<string>());
    }

    [Fact]
    public async Task InstancesEndpointListsEveryInstance()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 3);
        var list = JsonNode.Parse(await c.Http.GetStringAsync(new Uri("_sim/instances", UriKind.Relative)))!.AsArray();
        Assert.Equal(6, list.Count);
        var first = list.Single(i => i!["name"]!.GetValue<string>() == "vm-compute-02-03")!;
        Assert.Equal("compute-02", first["host"]!.GetValue<string>());
        Assert.Equal("active", first["vm_state"]!.GetValue<string>());
        Assert.Null(first["task_state"]);
        Assert.True(Guid.TryParse(first["uuid"]!.GetValue<string>(), out _));
    }
}
