using System.Net;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Faults;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Simulator.Tests;

/// <summary>Each fault kind through the HTTP surface (p = 1 fires, p = 0 never does), on a fake clock.</summary>
public class FaultTests
{
    private static string S(JsonNode? node) => node!.GetValue<string>();

    private static SimulatorOptions WithFaults(params string[] specs) =>
        TestCloud.Options() with { Faults = specs.Select(FaultSpec.Parse).ToList() };

    private static int Injected(JsonNode stats, string kind) => stats["faultsInjected"]![kind]?.GetValue<int>() ?? 0;

    [Fact]
    public async Task LatencyHoldsTheAnswerOnTheModelClock()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("latency:p=1,ms=800,path=os-hypervisors"));
        var pending = c.GetAsync("compute/v2.1/os-hypervisors");
        await c.HoldsStartedAsync(1);
        Assert.False(pending.IsCompleted);

        // Requests the filter does not match are not delayed.
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/flavors")).Status);

        c.Advance(799);
        Assert.False(pending.IsCompleted);
        c.Advance(1);
        var reply = await pending.WaitAsync(TestCloud.Guard);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(3, reply.Json!["hypervisors"]!.AsArray().Count);
        Assert.StartsWith("req-", reply.Header("x-compute-request-id"), StringComparison.Ordinal);

        var stats = await c.StatsAsync();
        Assert.Equal(1, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Equal(1, Injected(stats, "latency"));
        var record = c.Cloud.GetRequestLog().Single(r => r.Path.Contains("os-hypervisors", StringComparison.Ordinal));
        Assert.Equal("latency", record.Fault);
        Assert.Equal(200, record.StatusCode);
        Assert.Equal(TestCloud.Start.AddMilliseconds(800), record.At);
        Assert.Null(c.Cloud.GetRequestLog().Single(r => r.Path.Contains("flavors", StringComparison.Ordinal)).Fault);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LatencyBeforeOrAfterTheOperation(bool after)
    {
        await using var c = await TestCloud.StartAsync(WithFaults($"latency:p=1,ms=500,path=/action,after={after}"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");

        var pending = c.EvacuateAsync(vm);
        await c.HoldsStartedAsync(1);
        Assert.False(pending.IsCompleted);
        Assert.Equal(after ? 1 : 0, c.Cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm)).Count);

        c.Advance(500);
        var reply = await pending.WaitAsync(TestCloud.Guard);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var migration = Assert.Single(c.Cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm)));
        Assert.Equal(TestCloud.Start.AddMilliseconds(after ? 0 : 500), migration.CreatedAt);
        Assert.Equal(1, c.Cloud.GetStats().EvacuateCallsTotal);
    }

    [Fact]
    public async Task ServerErrorRefusesWithoutDoingTheOperation()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("5xx:p=1,path=/action"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");

        var reply = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.InternalServerError, reply.Status);
        Assert.Equal(500, reply.Json!["computeFault"]!["code"]!.GetValue<int>());
        Assert.Contains("evacsim injected fault 5xx", S(reply.Json["computeFault"]!["message"]), StringComparison.Ordinal);
        Assert.StartsWith("req-", reply.Header("x-compute-request-id"), StringComparison.Ordinal);
        Assert.Empty(await c.MigrationsAsync(vm));
        var server = await c.ServerAsync(vm);
        Assert.Equal("ACTIVE", S(server["status"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);

        var stats = await c.StatsAsync();
        Assert.Equal(0, stats["evacuateCallsTotal"]!.GetValue<int>());
        Assert.Equal(0, stats["evacuateRejected"]!.GetValue<int>());
        Assert.Equal(0, stats["duplicateEvacuations"]!.GetValue<int>());
        Assert.Equal(1, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Equal(1, Injected(stats, "5xx"));
        var call = Assert.Single(c.Cloud.GetEvacuateCalls());
        Assert.Equal(500, call.StatusCode);
        Assert.Equal("5xx", call.Fault);
        Assert.Equal(vm, call.InstanceUuid);
        Assert.Equal(reply.Header("x-compute-request-id"), call.RequestId);

        // Other actions on the path are refused too; other paths are not.
        Assert.Equal(HttpStatusCode.InternalServerError, (await c.PostAsync($"compute/v2.1/servers/{vm}/action", """{"lock": null}""")).Status);
        Assert.False(c.Cloud.GetInstance(vm)!.Locked);
        Assert.Single(c.Cloud.GetEvacuateCalls());

        c.Cloud.SetFaults([FaultSpec.Parse("5xx:code=503,path=/action")]);
        var unavailable = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.Status);
        Assert.Equal(503, unavailable.Json!["serviceUnavailable"]!["code"]!.GetValue<int>());
        Assert.Empty(await c.MigrationsAsync(vm));

        c.Cloud.SetFaults([FaultSpec.Parse("5xx:p=0,path=/action")]);
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        Assert.Single(await c.MigrationsAsync(vm));
        stats = await c.StatsAsync();
        Assert.Equal(1, stats["evacuateCallsTotal"]!.GetValue<int>());
        Assert.Equal(3, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Equal(3, Injected(stats, "5xx"));
    }

    [Fact]
    public async Task ServerErrorOnKeystoneUsesKeystonesErrorShape()
    {
        await using var c = await TestCloud.StartAsync();
        c.Cloud.SetFaults([FaultSpec.Parse("5xx:path=/identity/,method=POST")]);
        using var response = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(TestCloud.PasswordAuth));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Subject-Token"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(500, body["error"]!["code"]!.GetValue<int>());
        Assert.Equal("Internal Server Error", S(body["error"]!["title"]));

        // The method filter: validating the token (GET) is not affected.
        using var validate = new HttpRequestMessage(HttpMethod.Get, new Uri("identity/v3/auth/tokens", UriKind.Relative));
        validate.Headers.Add("X-Auth-Token", c.Token);
        validate.Headers.Add("X-Subject-Token", c.Token);
        using var validated = await c.Http.SendAsync(validate);
        Assert.Equal(HttpStatusCode.OK, validated.StatusCode);
    }

    [Fact]
    public async Task ServerErrorAfterPerformsTheEvacuationAndLosesTheAnswer()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("5xx-after:p=1,path=/action"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");

        var reply = await c.EvacuateAsync(vm);
        Assert.Equal(HttpStatusCode.InternalServerError, reply.Status);
        Assert.Contains("5xx-after", S(reply.Json!["computeFault"]!["message"]), StringComparison.Ordinal);
        Assert.StartsWith("req-", reply.Header("x-openstack-request-id"), StringComparison.Ordinal);
        var migration = Assert.Single(await c.MigrationsAsync(vm))!;
        Assert.Equal("accepted", S(migration["status"]));

        // A client that retries on the 5xx evacuates twice.
        Assert.Equal(HttpStatusCode.InternalServerError, (await c.EvacuateAsync(vm)).Status);
        c.Advance(1000);
        Assert.Equal(2, (await c.MigrationsAsync(vm)).Count);

        var stats = await c.StatsAsync();
        Assert.Equal(2, stats["evacuateCallsTotal"]!.GetValue<int>());
        Assert.Equal(2, stats["evacuateCalls"]![vm]!.GetValue<int>());
        Assert.Equal(1, stats["duplicateEvacuations"]!.GetValue<int>());
        Assert.True(stats["forcedDownBeforeEvacuate"]!.GetValue<bool>());
        Assert.Equal(2, Injected(stats, "5xx-after"));
        Assert.Equal(2, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.All(c.Cloud.GetEvacuateCalls(), call =>
        {
            Assert.Equal(200, call.StatusCode);
            Assert.Equal(500, call.AnsweredStatus);
            Assert.Equal("5xx-after", call.Fault);
        });
        Assert.All(c.Cloud.GetRequestLog().Where(r => r.Path.EndsWith("/action", StringComparison.Ordinal)), r =>
        {
            Assert.Equal(500, r.StatusCode);
            Assert.Equal("5xx-after", r.Fault);
        });
    }

    [Fact]
    public async Task TimeoutHoldsUntilTheClientGivesUpAndDoesNothing()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("timeout:p=1,path=/action"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");

        using var giveUp = new CancellationTokenSource();
        var pending = c.SendAsync(HttpMethod.Post, $"compute/v2.1/servers/{vm}/action", """{"evacuate":{}}""", cancellationToken: giveUp.Token);
        await c.HoldsStartedAsync(1);
        c.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(pending.IsCompleted);
        Assert.Empty(c.Cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm)));

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TestCloud.Guard));

        var call = Assert.Single(c.Cloud.GetEvacuateCalls());
        Assert.Equal(0, call.StatusCode);
        Assert.Equal("timeout", call.Fault);
        var stats = c.Cloud.GetStats();
        Assert.Equal(0, stats.EvacuateCallsTotal);
        Assert.Equal(1, stats.ApiErrorsInjected);
        Assert.Equal(1, stats.FaultsInjected["timeout"]);

        // The simulator still answers other requests.
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync($"compute/v2.1/servers/{vm}")).Status);
    }

    [Fact]
    public async Task TimeoutAfterPerformsTheOperationThenClosesTheConnection()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("timeout:p=1,ms=5000,path=/action,after=true"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");

        var pending = c.EvacuateAsync(vm);
        await c.HoldsStartedAsync(1);
        Assert.Single(c.Cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm)));
        c.Advance(4999);
        Assert.False(pending.IsCompleted);
        c.Advance(1);
        await Assert.ThrowsAsync<HttpRequestException>(() => pending.WaitAsync(TestCloud.Guard));

        var call = Assert.Single(c.Cloud.GetEvacuateCalls());
        Assert.Equal(200, call.StatusCode);
        Assert.Equal(0, call.AnsweredStatus);
        Assert.Equal("timeout", call.Fault);
        Assert.Equal(1, c.Cloud.GetStats().EvacuateCallsTotal);
        Assert.Equal("compute-02", c.Cloud.GetInstance(vm)!.Host); // rebuilt while the answer was held
    }

    [Theory]
    [InlineData("timeout:p=1,path=flavors")]
    [InlineData("latency:p=1,ms=60000,path=flavors")]
    public async Task HeldRequestsAreDroppedWhenTheSimulatorStops(string spec)
    {
        var c = await TestCloud.StartAsync(WithFaults(spec));
        Task<Reply> pending;
        try
        {
            pending = c.GetAsync("compute/v2.1/flavors");
            await c.HoldsStartedAsync(1);
            Assert.False(pending.IsCompleted);
        }
        finally
        {
            await c.Sim.DisposeAsync().AsTask().WaitAsync(TestCloud.Guard);
        }

        // Dropped, not answered with an empty 200.
        await Assert.ThrowsAsync<HttpRequestException>(() => pending.WaitAsync(TestCloud.Guard));
        c.Http.Dispose();
    }

    [Fact]
    public async Task EvacuateErrorFailsTheRebuildAndLeavesTheHost()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("evacuate-error:p=1"));
        var vms = c.InstancesOn("compute-01");
        await c.FailHostAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vms[0])).Status);

        c.Advance(200);
        Assert.Equal("pre-migrating", S((await c.MigrationsAsync(vms[0]))[0]!["status"]));
        c.Advance(500); // 0.7 R: no ACTIVE window for a rebuild that fails
        var server = await c.ServerAsync(vms[0]);
        Assert.Equal("REBUILD", S(server["status"]));
        c.Advance(300);
        var migration = (await c.MigrationsAsync(vms[0]))[0]!;
        Assert.Equal("error", S(migration["status"]));
        server = await c.ServerAsync(vms[0]);
        Assert.Equal("ERROR", S(server["status"]));
        Assert.Equal("error", S(server["OS-EXT-STS:vm_state"]));
        Assert.Null(server["OS-EXT-STS:task_state"]);
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Contains("evacuate-error", S(server["fault"]!["message"]), StringComparison.Ordinal);
        Assert.Equal(500, server["fault"]!["code"]!.GetValue<int>());

        var stats = await c.StatsAsync();
        Assert.Equal(1, Injected(stats, "evacuate-error"));
        Assert.Equal(1, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Equal(1, stats["evacuateCallsTotal"]!.GetValue<int>());

        // Without the fault (p = 0) the retry of the errored instance works.
        c.Cloud.SetFaults([FaultSpec.Parse("evacuate-error:p=0")]);
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vms[0])).Status);
        c.Advance(1000);
        Assert.Equal("done", S((await c.MigrationsAsync(vms[0]))[0]!["status"]));
        Assert.Equal("compute-02", S((await c.ServerAsync(vms[0]))["OS-EXT-SRV-ATTR:host"]));

        // A host filter: only evacuations from that source fail.
        c.Cloud.SetFaults([FaultSpec.Parse("evacuate-error:host=compute-02")]);
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vms[1])).Status);
        c.Advance(1000);
        Assert.Equal("done", S((await c.MigrationsAsync(vms[1]))[0]!["status"]));
        Assert.Equal(1, c.Cloud.GetStats().FaultsInjected["evacuate-error"]);
    }

    [Fact]
    public async Task NoValidHostFailsTheEvacuationAtScheduling()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("novalidhost:p=1"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(199);
        Assert.Equal("accepted", S((await c.MigrationsAsync(vm))[0]!["status"]));
        c.Advance(1);
        var migration = (await c.MigrationsAsync(vm))[0]!;
        Assert.Equal("error", S(migration["status"]));
        Assert.Null(migration["dest_compute"]);
        var server = await c.ServerAsync(vm);
        Assert.Equal("error", S(server["OS-EXT-STS:vm_state"]));
        Assert.Equal("compute-01", S(server["OS-EXT-SRV-ATTR:host"]));
        Assert.Contains("No valid host", S(server["fault"]!["message"]), StringComparison.Ordinal);
        Assert.Equal(1, Injected(await c.StatsAsync(), "novalidhost"));

        c.Cloud.SetFaults([FaultSpec.Parse("novalidhost:p=0")]);
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(1000);
        Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
        Assert.Equal(1, Injected(await c.StatsAsync(), "novalidhost"));
    }

    [Fact]
    public async Task RefuseForceDownAnswers500AndChangesNothing()
    {
        await using var c = await TestCloud.StartAsync(WithFaults("refuse-force-down:host=compute-03"));
        var refused = await c.ForceDownAsync("compute-03");
        Assert.Equal(HttpStatusCode.InternalServerError, refused.Status);
        Assert.Equal(500, refused.Json!["computeFault"]!["code"]!.GetValue<int>());
        Assert.False((await c.ServiceAsync("compute-03"))["forced_down"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, (await c.ForceDownAsync("compute-01")).Status);
        Assert.True((await c.ServiceAsync("compute-01"))["forced_down"]!.GetValue<bool>());

        // Without a host every service refuses; forcing up is not refused.
        c.Cloud.SetFaults([FaultSpec.Parse("refuse-force-down")]);
        Assert.Equal(HttpStatusCode.InternalServerError, (await c.ForceDownAsync("compute-02")).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.ForceDownAsync("compute-01", down: false)).Status);

        c.Cloud.SetFaults([FaultSpec.Parse("refuse-force-down:p=0")]);
        Assert.Equal(HttpStatusCode.OK, (await c.ForceDownAsync("compute-03")).Status);

        var stats = await c.StatsAsync();
        Assert.Equal(2, Injected(stats, "refuse-force-down"));
        Assert.Equal(2, stats["apiErrorsInjected"]!.GetValue<int>());
    }

    [Fact]
    public async Task EveryKindAtProbabilityZeroNeverFires()
    {
        await using var c = await TestCloud.StartAsync(WithFaults(
            "latency:p=0,ms=1000", "5xx:p=0", "5xx-after:p=0", "timeout:p=0", "evacuate-error:p=0", "novalidhost:p=0", "refuse-force-down:p=0"));
        var vm = c.InstancesOn("compute-01")[0];
        await c.FailHostAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm)).Status);
        c.Advance(1000);
        Assert.Equal("done", S((await c.MigrationsAsync(vm))[0]!["status"]));
        Assert.Equal("compute-02", S((await c.ServerAsync(vm))["OS-EXT-SRV-ATTR:host"]));

        var stats = await c.StatsAsync();
        Assert.Equal(0, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Empty(stats["faultsInjected"]!.AsObject());
        Assert.All(c.Cloud.GetRequestLog(), r => Assert.Null(r.Fault));
    }

    [Fact]
    public async Task StatsCountEveryInjectedFaultByKind()
    {
        await using var c = await TestCloud.StartAsync(WithFaults(
            "latency:ms=0,path=flavors", "5xx:path=os-hypervisors", "refuse-force-down:host=compute-02", "novalidhost:host=compute-01"));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/flavors")).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/flavors/detail")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await c.GetAsync("compute/v2.1/os-hypervisors")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await c.ForceDownAsync("compute-02")).Status);
        await c.FailHostAsync("compute-01");
        Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(c.InstancesOn("compute-01")[0])).Status);
        c.Advance(1000);

        var stats = await c.StatsAsync();
        Assert.Equal(5, stats["apiErrorsInjected"]!.GetValue<int>());
        var byKind = stats["faultsInjected"]!.AsObject();
        Assert.Equal(4, byKind.Count);
        Assert.Equal(2, byKind["latency"]!.GetValue<int>());
        Assert.Equal(1, byKind["5xx"]!.GetValue<int>());
        Assert.Equal(1, byKind["refuse-force-down"]!.GetValue<int>());
        Assert.Equal(1, byKind["novalidhost"]!.GetValue<int>());
        Assert.Equal(1, stats["evacuateCallsTotal"]!.GetValue<int>());
        Assert.Equal(2, c.Cloud.GetRequestLog().Count(r => r.Fault == "latency"));
    }

    [Fact]
    public void InvalidRulesInTheOptionsAreRefused()
    {
        var options = TestCloud.Options() with { Faults = [new FaultSpec { Kind = "latency", P = 0.5 }] };
        var ex = Assert.Throws<ArgumentException>(() => SimulatedCloud.CreatePopulated(options));
        Assert.Contains("ms is required", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SimulatedCloud().SetFaults([new FaultSpec { Kind = "5xx", P = 1.5 }]));
        Assert.Throws<ArgumentException>(() => new SimulatedCloud().SetFaults([new FaultSpec { Kind = "5xx", Host = "compute-01" }]));
    }
}
