using System.Net;

namespace Evacuationd.Simulator.Tests;

public class ServiceTests
{
    [Fact]
    public async Task ListsOneNovaComputePerHostWithFilters()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3);
        var all = await c.GetAsync("compute/v2.1/os-services");
        var services = all.Json!["services"]!.AsArray();
        Assert.Equal(["compute-01", "compute-02", "compute-03"], services.Select(s => s!["host"]!.GetValue<string>()).ToArray());
        var first = services[0]!.AsObject();
        Assert.True(Guid.TryParse(first["id"]!.GetValue<string>(), out _));
        Assert.Equal("nova-compute", first["binary"]!.GetValue<string>());
        Assert.Equal("up", first["state"]!.GetValue<string>());
        Assert.Equal("enabled", first["status"]!.GetValue<string>());
        Assert.Null(first["disabled_reason"]);
        Assert.True(first.ContainsKey("disabled_reason"));
        Assert.False(first["forced_down"]!.GetValue<bool>());
        Assert.Equal("nova", first["zone"]!.GetValue<string>());
        Assert.Equal("2026-11-23T09:01:20.000000", first["updated_at"]!.GetValue<string>());

        var one = await c.GetAsync("compute/v2.1/os-services?binary=nova-compute&host=compute-02");
        Assert.Equal("compute-02", one.Json!["services"]!.AsArray().Single()!["host"]!.GetValue<string>());
        var none = await c.GetAsync("compute/v2.1/os-services?binary=nova-scheduler");
        Assert.Empty(none.Json!["services"]!.AsArray());
    }

    [Fact]
    public async Task PoweredOffHostIsUpUntilServiceDownTimeThenDown()
    {
        await using var c = await TestCloud.StartAsync();
        c.Cloud.PowerOff("compute-01");
        c.Advance(60_000);
        Assert.Equal("up", (await c.ServiceAsync("compute-01"))["state"]!.GetValue<string>());
        c.Advance(1);
        var service = await c.ServiceAsync("compute-01");
        Assert.Equal("down", service["state"]!.GetValue<string>());
        Assert.False(service["forced_down"]!.GetValue<bool>());
        Assert.Equal("2026-11-23T09:01:20.000000", service["updated_at"]!.GetValue<string>());
        Assert.Equal("up", (await c.ServiceAsync("compute-02"))["state"]!.GetValue<string>());

        c.Cloud.PowerOn("compute-01");
        Assert.Equal("up", (await c.ServiceAsync("compute-01"))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task ForceDownMakesTheServiceDownAtOnceAndForceUpRestoresIt()
    {
        await using var c = await TestCloud.StartAsync();
        var reply = await c.ForceDownAsync("compute-02");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var service = reply.Json!["service"]!;
        Assert.True(service["forced_down"]!.GetValue<bool>());
        Assert.Equal("down", service["state"]!.GetValue<string>());
        Assert.Equal("compute-02", service["host"]!.GetValue<string>());
        Assert.Equal("down", (await c.ServiceAsync("compute-02"))["state"]!.GetValue<string>());

        var up = await c.ForceDownAsync("compute-02", down: false);
        Assert.Equal(HttpStatusCode.OK, up.Status);
        Assert.Equal("up", up.Json!["service"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task DisableAndEnableWithReason()
    {
        await using var c = await TestCloud.StartAsync();
        var id = (await c.ServiceAsync("compute-01"))["id"]!.GetValue<string>();
        var disabled = await c.PutAsync($"compute/v2.1/os-services/{id}", """{"status":"disabled","disabled_reason":"evacuationd: host failed"}""");
        Assert.Equal(HttpStatusCode.OK, disabled.Status);
        Assert.Equal("disabled", disabled.Json!["service"]!["status"]!.GetValue<string>());
        Assert.Equal("evacuationd: host failed", disabled.Json["service"]!["disabled_reason"]!.GetValue<string>());
        Assert.Equal("up", disabled.Json["service"]!["state"]!.GetValue<string>());

        var enabled = await c.PutAsync($"compute/v2.1/os-services/{id}", """{"status":"enabled"}""");
        Assert.Equal("enabled", enabled.Json!["service"]!["status"]!.GetValue<string>());
        Assert.Null(enabled.Json["service"]!["disabled_reason"]);
    }

    [Fact]
    public async Task UpdateErrors()
    {
        await using var c = await TestCloud.StartAsync();
        var id = (await c.ServiceAsync("compute-01"))["id"]!.GetValue<string>();

        var old = await c.PutAsync($"compute/v2.1/os-services/{id}", """{"forced_down": true}""", "2.52");
        Assert.Equal(HttpStatusCode.NotFound, old.Status);

        var unknown = await c.PutAsync($"compute/v2.1/os-services/{Guid.NewGuid()}", """{"forced_down": true}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal(404, unknown.Json!["itemNotFound"]!["code"]!.GetValue<int>());

        foreach (var body in new[] { """{"forced_down": "yes"}""", """{"status": "sleeping"}""", """{"bogus": 1}""", "[]", """{"disabled_reason": "x"}""", "{}" })
        {
            var bad = await c.PutAsync($"compute/v2.1/os-services/{id}", body);
            Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
            Assert.Equal(400, bad.Json!["badRequest"]!["code"]!.GetValue<int>());
        }

        Assert.Equal("up", (await c.ServiceAsync("compute-01"))["state"]!.GetValue<string>());
        Assert.Equal("enabled", (await c.ServiceAsync("compute-01"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task HypervisorsListEveryComputeHost()
    {
        await using var c = await TestCloud.StartAsync(hosts: 4);
        c.Cloud.PowerOff("compute-03");
        await c.ForceDownAsync("compute-03");
        var reply = await c.GetAsync("compute/v2.1/os-hypervisors/detail");
        var list = reply.Json!["hypervisors"]!.AsArray();
        Assert.Equal(4, list.Count);
        var h3 = list.Single(h => h!["hypervisor_hostname"]!.GetValue<string>() == "compute-03")!;
        Assert.Equal("down", h3["state"]!.GetValue<string>());
        Assert.Equal("compute-03", h3["service"]!["host"]!.GetValue<string>());
        Assert.Equal("up", list[0]!["state"]!.GetValue<string>());
    }
}
