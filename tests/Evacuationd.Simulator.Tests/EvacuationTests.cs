using System.Net;
using System.Text.Json.Nodes;

namespace Evacuationd.Simulator.Tests;

public class EvacuationTests
{
    private const string ForceUpRefused =
        "Unable to force up host compute-01 as `done` evacuation migration records remain associated with the host. " +
        "Ensure the compute service has been restarted, allowing these records to move to `completed` before retrying this request.";

    private static string S(JsonNode? node) => node!.GetValue<string>();

    [Fact]
    public async Task RefusedWhileTheSourceServiceIsUpAcceptedOnceForcedDown()
    {
        await using var c = await TestCloud.StartAsync();
        var vm = c.InstancesOn("compute-01")[0];

        var refused = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("Compute service of compute-01 is still in use.", S(refused.Json!["badRequest"]!["message"]));
        Assert.Empty(await c.MigrationsAsync(vm));

        // Powered off but not yet past service_down_time: still "in use".
        c.Cloud.PowerOff("compute-01");
        c.Advance(30_000);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.EvacuateAsync(vm)).Status);

        Assert.Equal(HttpStatusCode.OK, (await c.ForceDownAsync("compute-01")).Status);
        var accepted = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(string.Empty, accepted.Text);

        var stats = c.Cloud.GetStats();
        Assert.Equal(1, stats.EvacuateCallsTotal);
        Assert.Equal(2, stats.EvacuateRejected);
        Assert.True(stats.ForcedDownBeforeEvacuate);
    }

    [Fact]
    public async Task AcceptedAfterServiceDownTimeWithoutForceDown()
    {
        await using var c = await TestCloud.StartAsync();
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        c.Advance(60_001);
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        var stats = c.Cloud.GetStats();
        Assert.True(stats.ForcedDownBeforeEvacuate);
        Assert.Equal(1, stats.EvacuateCallsWithoutForcedDown);
    }

    [Fact]
    public async Task FullTimelineWithActiveBeforeMovedWindow()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3, perHost: 2, rebuildMs: 1000);
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);

        // t = 0: accepted, rebuilding, still on the source.
        var server = await c.ServerAsync(vm);
        Assert.Equal("REBUILD", S(server["status"]));
        Assert.Equal("rebuilding", S(server["OS-EXT-STS:task_state"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        var migration = Assert.Single(await c.MigrationsAsync(vm))!;
        Assert.Equal("accepted", S(migration["status"]));
        Assert.Equal("evacuation", S(migration["migration_type"]));
        Assert.Equal("compute-01", S(migration["source_compute"]));
        Assert.Equal("compute-01", S(migration["source_node"]));
        Assert.Null(migration["dest_compute"]);
        Assert.Null(migration["updated_at"]);
        Assert.Equal(vm, S(migration["instance_uuid"]));
        Assert.Equal("2026-11-23T09:01:20.000000", S(migration["created_at"]));
        Assert.True(migration["id"]!.GetValue<int>() >= 1);
        Assert.True(Guid.TryParse(S(migration["uuid"]), out _));

        c.Advance(199);
        Assert.Equal("accepted", S((await c.MigrationsAsync(vm))[0]!["status"]));

        // t = 0.2 R: scheduled to the least loaded host (tie compute-02 / compute-03 broken by name).
        c.Advance(1);
        migration = (await c.MigrationsAsync(vm))[0]!;
        Assert.Equal("pre-migrating", S(migration["status"]));
        Assert.Equal("compute-02", S(migration["dest_compute"]));
        server = await c.ServerAsync(vm);
        Assert.Equal("rebuild_spawning", S(server["OS-EXT-STS:task_state"]));
        Assert.Equal("REBUILD", S(server["status"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));

        // t = 0.7 R: ACTIVE with task_state null while host is still the failed one.
        c.Advance(500);
        server = await c.ServerAsync(vm);
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        Assert.Equal("active", S(server["OS-EXT-STS:vm_state"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:hypervisor_hostname"]));
        Assert.Equal("pre-migrating", S((await c.MigrationsAsync(vm))[0]!["status"]));

        c.Advance(299);
        Assert.Equal("compute-01", S((await c.ServerAsync(vm))["OS-EXT-SRV-ATTR:host"]));

        // t = R: moved, migration done.
        c.Advance(1);
        server = await c.ServerAsync(vm);
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Equal("compute-02", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("compute-02", S(server["OS-EXT-SRV-ATTR:hypervisor_hostname"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        migration = (await c.MigrationsAsync(vm))[0]!;
        Assert.Equal("done", S(migration["status"]));
        Assert.Equal("compute-02", S(migration["dest_node"]));
        Assert.Equal("2026-11-23T09:01:21.000000", S(migration["updated_at"]));

        // Done stays done while the failed host is down.
        c.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
    }

    [Fact]
    public async Task DoneBecomesCompletedOnlyAfterPowerOnAndCleanupAndThenForceUpIsAllowed()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3, perHost: 2);
        var vms = c.InstancesOn("compute-01");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        foreach (var vm in vms)
        {
            Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        }

        c.Advance(1000);
        Assert.All(vms, vm => Assert.NotEqual("compute-01", c.Cloud.GetInstance(vm)!.Host));

        var refused = await c.ForceDownAsync("compute-01", down: false);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(ForceUpRefused, S(refused.Json!["badRequest"]!["message"]));
        Assert.True((await c.ServiceAsync("compute-01"))["forced_down"]!.GetValue<bool>());

        c.Cloud.PowerOn("compute-01");
        Assert.Equal("down", (await c.ServiceAsync("compute-01"))["state"]!.GetValue<string>());
        c.Advance(2999);
        foreach (var vm in vms)
        {
            Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await c.ForceDownAsync("compute-01", down: false)).Status);

        c.Advance(1);
        foreach (var vm in vms)
        {
            Assert.Equal("completed", S((await c.MigrationsAsync(vm))[0]!["status"]));
        }

        var up = await c.ForceDownAsync("compute-01", down: false);
        Assert.Equal(HttpStatusCode.OK, up.Status);
        Assert.Equal("up", S(up.Json!["service"]!["state"]));
    }

    [Fact]
    public async Task SimultaneousEvacuationsSpreadOverTheLeastLoadedHosts()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3, perHost: 2);
        var vms = c.InstancesOn("compute-01");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        foreach (var vm in vms)
        {
            await c.EvacuateAsync(vm);
        }

        c.Advance(1000);
        var hosts = vms.Select(vm => c.Cloud.GetInstance(vm)!.Host!).OrderBy(h => h, StringComparer.Ordinal).ToArray();
        Assert.Equal(["compute-02", "compute-03"], hosts);
    }

    [Fact]
    public async Task RequestedTargetHostIsUsedAndValidated()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3);
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");

        var unknown = await c.EvacuateAsync(vm, """{"evacuate":{"host":"compute-09"}}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("compute-09", S(unknown.Json!["itemNotFound"]!["message"]), StringComparison.Ordinal);

        var same = await c.EvacuateAsync(vm, """{"evacuate":{"host":"compute-01"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, same.Status);
        Assert.Equal("The target host can't be the same one.", S(same.Json!["badRequest"]!["message"]));

        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm, """{"evacuate":{"host":"compute-03"}}""")).Status);
        c.Advance(1000);
        Assert.Equal("compute-03", c.Cloud.GetInstance(vm)!.Host);
        Assert.Equal("compute-03", S((await c.MigrationsAsync(vm))[0]!["dest_compute"]));
    }

    [Fact]
    public async Task UnknownInstanceIs404()
    {
        await using var c = await TestCloud.StartAsync();
        var id = Guid.NewGuid().ToString();
        var reply = await c.EvacuateAsync(id);
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal($"Instance {id} could not be found.", S(reply.Json!["itemNotFound"]!["message"]));
        Assert.Equal(1, c.Cloud.GetStats().EvacuateRejected);
    }

    [Fact]
    public async Task DuplicateEvacuateInFlightEndsInErrorWithFailedAndStuckAcceptedMigrations()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3);
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(300);
        // task_state is rebuild_spawning now; Zed still accepts.
        var second = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(string.Empty, second.Text);
        Assert.Equal(1, c.Cloud.GetStats().DuplicateEvacuations);

        c.Advance(700);
        var server = await c.ServerAsync(vm);
        Assert.Equal("ERROR", S(server["status"]));
        Assert.Equal("error", S(server["OS-EXT-STS:vm_state"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal(500, server["fault"]!["code"]!.GetValue<int>());
        Assert.Contains("already exists", S(server["fault"]!["message"]), StringComparison.Ordinal);

        c.Time.Advance(TimeSpan.FromMinutes(10));
        var migrations = await c.MigrationsAsync(vm);
        Assert.Equal(2, migrations.Count);
        Assert.Equal("accepted", S(migrations[0]!["status"]));
        Assert.Equal("failed", S(migrations[1]!["status"]));
        Assert.True(migrations[0]!["id"]!.GetValue<int>() > migrations[1]!["id"]!.GetValue<int>());

        var stats = c.Cloud.GetStats();
        Assert.Equal(2, stats.EvacuateCalls[vm]);
        Assert.Equal(1, stats.DuplicateEvacuations);
    }

    [Fact]
    public async Task NoValidHostPutsTheInstanceInErrorAndTheMigrationInError()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2);
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        var other = (await c.ServiceAsync("compute-02"))["id"]!.GetValue<string>();
        await c.PutAsync($"compute/v2.1/os-services/{other}", """{"status":"disabled","disabled_reason":"maintenance"}""");

        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(200);
        var server = await c.ServerAsync(vm);
        Assert.Equal("ERROR", S(server["status"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("No valid host was found. There are not enough hosts available.", S(server["fault"]!["message"]));
        var migration = Assert.Single(await c.MigrationsAsync(vm))!;
        Assert.Equal("error", S(migration["status"]));
        Assert.Null(migration["dest_compute"]);

        // An instance in error can be evacuated again, and becomes active once moved.
        await c.PutAsync($"compute/v2.1/os-services/{other}", """{"status":"enabled"}""");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(1000);
        server = await c.ServerAsync(vm);
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Equal("compute-02", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.False(server.ContainsKey("fault"));
        Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
    }

    [Fact]
    public async Task PausedInstanceIs409()
    {
        await using var c = await TestCloud.StartAsync();
        var paused = c.Cloud.AddInstance("compute-01", "paused-vm", vmState: "paused");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        var reply = await c.EvacuateAsync(paused);
        Assert.Equal(HttpStatusCode.Conflict, reply.Status);
        Assert.Equal($"Cannot 'evacuate' instance {paused} while it is in vm_state paused", S(reply.Json!["conflictingRequest"]!["message"]));
        Assert.Equal(409, reply.Json["conflictingRequest"]!["code"]!.GetValue<int>());
        Assert.Equal("PAUSED", S((await c.ServerAsync(paused))["status"]));
    }

    [Fact]
    public async Task ForceIsRejectedFrom268ButAcceptedAt267()
    {
        await using var c = await TestCloud.StartAsync();
        var vms = c.InstancesOn("compute-01");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");

        var rejected = await c.EvacuateAsync(vms[0], """{"evacuate":{"host":"compute-02","force":false}}""", "2.68");
        Assert.Equal(HttpStatusCode.BadRequest, rejected.Status);
        Assert.Equal("Additional properties are not allowed ('force' was unexpected)", S(rejected.Json!["badRequest"]!["message"]));
        Assert.Equal(HttpStatusCode.BadRequest, (await c.EvacuateAsync(vms[0], """{"evacuate":{"force":true}}""")).Status);
        Assert.Empty(await c.MigrationsAsync(vms[0]));

        var old = await c.EvacuateAsync(vms[1], """{"evacuate":{"host":"compute-02","force":false}}""", "2.67");
        Assert.Equal(HttpStatusCode.OK, old.Status);
        Assert.Equal(2, c.Cloud.GetStats().EvacuateRejected);
    }

    [Fact]
    public async Task StoppedInstanceStaysStopped()
    {
        await using var c = await TestCloud.StartAsync();
        var vm = c.Cloud.AddInstance("compute-01", "stopped-vm", vmState: "stopped");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        Assert.Equal("REBUILD", S((await c.ServerAsync(vm))["status"]));
        c.Advance(1000);
        var server = await c.ServerAsync(vm);
        Assert.Equal("SHUTOFF", S(server["status"]));
        Assert.Equal("stopped", S(server["OS-EXT-STS:vm_state"]));
        Assert.NotEqual("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
    }

    [Fact]
    public async Task ZeroRebuildTimeCompletesAtOnce()
    {
        await using var c = await TestCloud.StartAsync(hosts: 2, perHost: 1, rebuildMs: 0);
        var vm = c.InstancesOn("compute-01")[0];
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        var server = await c.ServerAsync(vm);
        Assert.Equal("compute-02", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
    }

    [Fact]
    public async Task MigrationsFilterByHostAndStatus()
    {
        await using var c = await TestCloud.StartAsync(hosts: 3, perHost: 2);
        var vms = c.InstancesOn("compute-01");
        c.Cloud.PowerOff("compute-01");
        await c.ForceDownAsync("compute-01");
        await c.EvacuateAsync(vms[0]);
        c.Advance(1000);
        await c.EvacuateAsync(vms[1]);

        var byHost = await c.GetAsync("compute/v2.1/os-migrations?host=compute-01");
        var all = byHost.Json!["migrations"]!.AsArray();
        Assert.Equal(2, all.Count);
        Assert.True(all[0]!["id"]!.GetValue<int>() > all[1]!["id"]!.GetValue<int>());
        var done = await c.GetAsync("compute/v2.1/os-migrations?status=done");
        Assert.Equal(vms[0], S(Assert.Single(done.Json!["migrations"]!.AsArray())!["instance_uuid"]));
        var accepted = await c.GetAsync("compute/v2.1/os-migrations?status=accepted&migration_type=evacuation");
        Assert.Equal(vms[1], S(Assert.Single(accepted.Json!["migrations"]!.AsArray())!["instance_uuid"]));
        var none = await c.GetAsync("compute/v2.1/os-migrations?migration_type=live-migration");
        Assert.Empty(none.Json!["migrations"]!.AsArray());

        // changes-since (2.59+): never-updated migrations are left out, as in Nova.
        var since = await c.GetAsync("compute/v2.1/os-migrations?changes-since=2026-11-23T09:01:21Z");
        Assert.Equal(vms[0], S(Assert.Single(since.Json!["migrations"]!.AsArray())!["instance_uuid"]));
        var later = await c.GetAsync("compute/v2.1/os-migrations?changes-since=2026-11-23T09:01:22Z");
        Assert.Empty(later.Json!["migrations"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("compute/v2.1/os-migrations?changes-since=yesterday")).Status);
    }
}
