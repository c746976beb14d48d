using System.Net;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Simulator.Tests;

public class ServerTests
{
    private static string S(JsonNode? node) => node!.GetValue<string>();

    [Fact]
    public async Task DetailCarriesTheFieldsTheDaemonReads()
    {
        await using var c = await TestCloud.StartAsync(hosts: 1, perHost: 0);
        var vm = c.Cloud.AddInstance(
            "compute-01",
            "db-1",
            metadata: new Dictionary<string, string> { ["evacuable"] = "true" },
            tags: ["ha"],
            flavorExtraSpecs: new Dictionary<string, string> { ["hw:evacuable"] = "true" });
        var server = await c.ServerAsync(vm);
        Assert.Equal(vm, S(server["id"]));
        Assert.Equal("db-1", S(server["name"]));
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Equal(c.Cloud.DemoProjectId, S(server["tenant_id"]));
        Assert.Equal("true", S(server["metadata"]!["evacuable"]));
        Assert.Equal("ha", S(server["tags"]![0]));
        Assert.Equal("true", S(server["flavor"]!["extra_specs"]!["hw:evacuable"]));
        Assert.Equal("m1.small", S(server["flavor"]!["original_name"]));
        Assert.Equal(2048, server["flavor"]!["ram"]!.GetValue<int>());
        Assert.Equal(SimulatedCloud.DefaultImageId, S(server["image"]!["id"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:hypervisor_hostname"]));
        Assert.StartsWith("instance-", S(server["OS-EXT-SRV-ATTR:instance_name"]), StringComparison.Ordinal);
        Assert.Equal("active", S(server["OS-EXT-STS:vm_state"]));
        Assert.True(server.ContainsKey("OS-EXT-STS:task_state"));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        Assert.Equal(1, server["OS-EXT-STS:power_state"]!.GetValue<int>());
        Assert.Equal("nova", S(server["OS-EXT-AZ:availability_zone"]));
        Assert.False(server["locked"]!.GetValue<bool>());
        Assert.Null(server["locked_reason"]);
        Assert.Equal("UP", S(server["host_status"]));
        Assert.Equal("2026-11-23T09:01:20Z", S(server["created"]));
        Assert.Equal(56, S(server["hostId"]).Length);
        Assert.False(server.ContainsKey("fault"));

        // Before 2.47 the flavor is a reference.
        var old = await c.GetAsync($"compute/v2.1/servers/{vm}", "2.46");
        Assert.Equal("1", S(old.Json!["server"]!["flavor"]!["id"]));
    }

    [Fact]
    public async Task UnknownServerIs404()
    {
        await using var c = await TestCloud.StartAsync();
        var reply = await c.GetAsync("compute/v2.1/servers/00000000-0000-4000-8000-000000000000");
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("Instance 00000000-0000-4000-8000-000000000000 could not be found.", S(reply.Json!["itemNotFound"]!["message"]));
    }

    [Fact]
    public async Task PagingWithLimitMarkerAndNextLinks()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 5);
        var expected = c.InstancesOn("compute-01").Count;
        Assert.Equal(5, expected);

        var seen = new List<string>();
        string? next = "compute/v2.1/servers/detail?host=compute-01&all_tenants=1&limit=2";
        var pages = 0;
        while (next is not null)
        {
            var reply = await c.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            var servers = reply.Json!["servers"]!.AsArray();
            Assert.All(servers, s => Assert.Equal("compute-01", S(s!["OS-EXT-SRV-ATTR:host"])));
            seen.AddRange(servers.Select(s => S(s!["id"])));
            pages++;
            var links = reply.Json["servers_links"]?.AsArray();
            if (links is null)
            {
                next = null;
                continue;
            }

            var href = S(links[0]!["href"]);
            Assert.Equal("next", S(links[0]!["rel"]));
            Assert.StartsWith(c.Sim.BaseUrl + "compute/v2.1/servers/detail?", href, StringComparison.Ordinal);
            Assert.Contains("marker=" + seen[^1], href, StringComparison.Ordinal);
            Assert.Contains("host=compute-01", href, StringComparison.Ordinal);
            next = href[c.Sim.BaseUrl.ToString().Length..];
        }

        // 2 + 2 + 1: the last page is not full, so it has no next link.
        Assert.Equal(3, pages);
        Assert.Equal(5, seen.Distinct().Count());
        Assert.Equal(c.InstancesOn("compute-01"), seen.OrderBy(s => s, StringComparer.Ordinal).ToList());

        // Newest created first.
        var all = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1");
        var names = all.Json!["servers"]!.AsArray().Select(s => S(s!["name"])).ToList();
        Assert.Equal("vm-compute-02-05", names[0]);
        Assert.Equal("vm-compute-01-01", names[^1]);
        Assert.Null(all.Json["servers_links"]);
    }

    [Fact]
    public async Task ChangesSinceListsServersUpdatedSinceThenDeletedOnesToo()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 2);
        var vms = c.InstancesOn("compute-01");
        c.Advance(2000); // 09:01:22
        await c.PostAsync($"compute/v2.1/servers/{vms[0]}/action", """{"lock":{}}""");
        await c.SendAsync(HttpMethod.Delete, $"compute/v2.1/servers/{vms[1]}");

        var changed = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1&changes-since=2026-11-23T09:01:21Z");
        var listed = changed.Json!["servers"]!.AsArray().ToDictionary(s => S(s!["id"]), s => s!);
        var none = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1&changes-since=2026-11-23T09:01:23Z");
        var bad = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1&changes-since=yesterday");

        // Nova lists what changed at or after the time, deleted servers included (status DELETED).
        Assert.Equal(new[] { vms[0], vms[1] }.Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("ACTIVE", S(listed[vms[0]]["status"]));
        Assert.Equal("DELETED", S(listed[vms[1]]["status"]));
        Assert.Equal("deleted", S(listed[vms[1]]["OS-EXT-STS:vm_state"]));
        Assert.Empty(none.Json!["servers"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Contains("changes-since", S(bad.Json!["badRequest"]!["message"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownMarkerIs400()
    {
        await using var c = await TestCloud.StartAsync();
        var reply = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1&marker=nope");
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("marker [nope] not found", S(reply.Json!["badRequest"]!["message"]));
    }

    [Fact]
    public async Task WithoutAllTenantsOnlyTheTokensProjectIsListed()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 3);
        var own = await c.GetAsync("compute/v2.1/servers/detail?host=compute-01");
        Assert.Empty(own.Json!["servers"]!.AsArray());
        var all = await c.GetAsync("compute/v2.1/servers/detail?host=compute-01&all_tenants=1");
        Assert.Equal(3, all.Json!["servers"]!.AsArray().Count);
        var brief = await c.GetAsync("compute/v2.1/servers?all_tenants=True");
        var first = brief.Json!["servers"]!.AsArray()[0]!.AsObject();
        Assert.Equal(["id", "name", "links"], first.Select(p => p.Key).ToArray());
    }

    [Fact]
    public async Task BootBuildsOnTheLeastLoadedHostThenDelete()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 1);
        c.Cloud.AddInstance("compute-01", "extra");
        var boot = await c.PostAsync("compute/v2.1/servers", """{"server":{"name":"new-vm","imageRef":"IMAGE","flavorRef":"1","metadata":{"k":"v"}}}""".Replace("IMAGE", SimulatedCloud.DefaultImageId, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Accepted, boot.Status);
        var created = boot.Json!["server"]!;
        var id = S(created["id"]);
        Assert.Equal("MANUAL", S(created["OS-DCF:diskConfig"]));
        Assert.Equal("default", S(created["security_groups"]![0]!["name"]));
        Assert.False(string.IsNullOrEmpty(S(created["adminPass"])));

        var building = await c.ServerAsync(id);
        Assert.Equal("BUILD", S(building["status"]));
        Assert.Null(building["OS-EXT-SRV-ATTR:host"]);
        Assert.Equal(c.Cloud.AdminProjectId, S(building["tenant_id"]));

        c.Advance(200);
        var active = await c.ServerAsync(id);
        Assert.Equal("ACTIVE", S(active["status"]));
        Assert.Equal("compute-02", S(active["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("v", S(active["metadata"]!["k"]));

        var pinned = await c.PostAsync("compute/v2.1/servers", """{"server":{"name":"pinned","imageRef":"IMAGE","flavorRef":"1","availability_zone":"nova:compute-01"}}""".Replace("IMAGE", SimulatedCloud.DefaultImageId, StringComparison.Ordinal));
        var pinnedId = S(pinned.Json!["server"]!["id"]);
        c.Advance(200);
        Assert.Equal("compute-01", c.Cloud.GetInstance(pinnedId)!.Host);

        var bad = await c.PostAsync("compute/v2.1/servers", """{"server":{"name":"x","imageRef":"nope","flavorRef":"1"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);

        var deleted = await c.SendAsync(HttpMethod.Delete, $"compute/v2.1/servers/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync($"compute/v2.1/servers/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await c.SendAsync(HttpMethod.Delete, $"compute/v2.1/servers/{id}")).Status);
    }

    [Fact]
    public async Task LockUnlockAndResetState()
    {
        await using var c = await TestCloud.StartAsync();
        var vm = c.InstancesOn("compute-01")[0];
        var locked = await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"lock":{"locked_reason":"evacuationd: evacuating"}}""");
        Assert.Equal(HttpStatusCode.Accepted, locked.Status);
        var server = await c.ServerAsync(vm);
        Assert.True(server["locked"]!.GetValue<bool>());
        Assert.Equal("evacuationd: evacuating", S(server["locked_reason"]));

        Assert.Equal(HttpStatusCode.Accepted, (await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"unlock":null}""")).Status);
        server = await c.ServerAsync(vm);
        Assert.False(server["locked"]!.GetValue<bool>());
        Assert.Null(server["locked_reason"]);

        Assert.Equal(HttpStatusCode.Accepted, (await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"os-resetState":{"state":"error"}}""")).Status);
        Assert.Equal("ERROR", S((await c.ServerAsync(vm))["status"]));
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"os-resetState":{"state":"paused"}}""")).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"os-resetState":{"state":"active"}}""")).Status);
        Assert.Equal("ACTIVE", S((await c.ServerAsync(vm))["status"]));

        var unknown = await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"os-teleport":{}}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("There is no such action: os-teleport", S(unknown.Json!["badRequest"]!["message"]));
    }

    [Fact]
    public async Task FlavorsAndImages()
    {
        await using var c = await TestCloud.StartAsync();
        var flavors = await c.GetAsync("compute/v2.1/flavors/detail");
        var flavor = Assert.Single(flavors.Json!["flavors"]!.AsArray())!;
        Assert.Equal("1", S(flavor["id"]));
        Assert.Equal("m1.small", S(flavor["name"]));
        Assert.Equal("m1.small", S((await c.GetAsync("compute/v2.1/flavors/1")).Json!["flavor"]!["name"]));
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("compute/v2.1/flavors/42")).Status);

        var image = c.Cloud.AddImage("evacuable-image", new Dictionary<string, string> { ["hw_evacuable"] = "true" });
        var vm = c.Cloud.AddInstance("compute-02", "img-vm", imageId: image);
        Assert.Equal(image, S((await c.ServerAsync(vm))["image"]!["id"]));

        var shown = await c.GetAsync($"image/v2/images/{image}", null);
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        Assert.Equal("true", S(shown.Json!["hw_evacuable"]));
        Assert.Equal("evacuable-image", S(shown.Json["name"]));
        var fixedImage = await c.GetAsync($"image/v2/images/{SimulatedCloud.DefaultImageId}", null);
        Assert.False(fixedImage.Json!.AsObject().ContainsKey("hw_evacuable"));
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("image/v2/images/nope", null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.SendAsync(HttpMethod.Get, $"image/v2/images/{image}", token: "bad")).Status);
    }
}
