using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Tests;

/// <summary>The control API of faults (PUT/GET/DELETE /_sim/faults) and the determinism of the seeded draws.</summary>
public class FaultControlTests
{
    private static readonly Uri FaultsUri = new("_sim/faults", UriKind.Relative);

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PutFaultsAsync(TestCloud c, string json)
    {
        using var response = await c.Http.PutAsync(FaultsUri, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text));
    }

    private static async Task<JsonNode> GetFaultsAsync(TestCloud c) => JsonNode.Parse(await c.Http.GetStringAsync(FaultsUri))!;

    [Fact]
    public async Task PutGetDeleteRoundTrip()
    {
        var options = TestCloud.Options() with { Faults = [FaultSpec.Parse("latency:p=0.2,ms=800,path=os-migrations")] };
        await using var c = await TestCloud.StartAsync(options);

        var initial = await GetFaultsAsync(c);
        Assert.Equal("""{"seed":1,"faults":[{"kind":"latency","p":0.2,"ms":800,"path":"os-migrations"}]}""", initial.ToJsonString());

        var (status, body) = await PutFaultsAsync(c, """
            {"seed": 42, "faults": [
              {"kind": "5xx", "p": 1, "code": 503, "path": "flavors"},
              "refuse-force-down:host=compute-03",
              {"kind": "timeout", "p": 0.02, "after": true, "method": "post"},
              {"kind": "evacuate-error", "p": "0.1"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        const string expected =
            """{"seed":42,"faults":[{"kind":"5xx","p":1,"code":503,"path":"flavors"},{"kind":"refuse-force-down","p":1,"host":"compute-03"},""" +
            """{"kind":"timeout","p":0.02,"method":"POST","after":true},{"kind":"evacuate-error","p":0.1}]}""";
        Assert.Equal(expected, body!.ToJsonString());
        Assert.Equal(expected, (await GetFaultsAsync(c)).ToJsonString());
        Assert.Equal(42, c.Cloud.GetFaults().Seed);
        Assert.Equal(FaultSpec.Parse("refuse-force-down:host=compute-03"), c.Cloud.GetFaults().Faults[1]);

        // The new set is in force at once.
        var flavors = await c.GetAsync("compute/v2.1/flavors");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, flavors.Status);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/os-migrations")).Status);

        // What GET returns can be PUT back unchanged; a PUT without a seed keeps it.
        (status, body) = await PutFaultsAsync(c, """{"faults":[{"kind":"5xx","p":1,"code":503,"path":"flavors"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(42, body!["seed"]!.GetValue<int>());
        (status, _) = await PutFaultsAsync(c, expected);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(expected, (await GetFaultsAsync(c)).ToJsonString());

        using (var deleted = await c.Http.DeleteAsync(FaultsUri))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.Equal("""{"seed":42,"faults":[]}""", JsonNode.Parse(await deleted.Content.ReadAsStringAsync())!.ToJsonString());
        }

        Assert.Equal("""{"seed":42,"faults":[]}""", (await GetFaultsAsync(c)).ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/flavors")).Status);

        // A bare array is accepted too.
        (status, body) = await PutFaultsAsync(c, """["5xx:p=0.05"]""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"seed":42,"faults":[{"kind":"5xx","p":0.05}]}""", body!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"faults":[{"kind":"latency","p":0.5}]}""", "ms is required")]
    [InlineData("""{"faults":[{"kind":"nope"}]}""", "unknown fault kind 'nope'")]
    [InlineData("""{"faults":[{"p":0.5}]}""", "kind is required")]
    [InlineData("""{"faults":[{"kind":"5xx","p":2}]}""", "p must be")]
    [InlineData("""{"faults":[{"kind":"5xx","code":404}]}""", "code must be in [500, 599]")]
    [InlineData("""{"faults":[{"kind":"5xx","host":"compute-01"}]}""", "'host' is not a parameter of 5xx")]
    [InlineData("""{"faults":[{"kind":"5xx","path":["a"]}]}""", "'path' must be a string")]
    [InlineData("""{"faults":["timeout:p=x"]}""", "timeout: p must be")]
    [InlineData("""{"faults":"5xx"}""", "faults must be an array")]
    [InlineData("""{"seed":"x","faults":[]}""", "seed must be")]
    [InlineData("""{"faults":[],"extra":1}""", "unexpected member 'extra'")]
    [InlineData("""{"seed":3}""", "faults must be an array")]
    [InlineData("not json", "not JSON")]
    public async Task BadPutIs400AndChangesNothing(string json, string message)
    {
        var options = TestCloud.Options() with { Faults = [FaultSpec.Parse("5xx:p=0.5,path=flavors")] };
        await using var c = await TestCloud.StartAsync(options);
        var before = (await GetFaultsAsync(c)).ToJsonString();
        var (status, body) = await PutFaultsAsync(c, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, (await GetFaultsAsync(c)).ToJsonString());
    }

    /// <summary>The statuses of <paramref name="n"/> sequential GET /flavors, as a string of digits (2 = 200, 5 = 500).</summary>
    private static async Task<string> FlavorSequenceAsync(TestCloud c, int n = 40)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < n; i++)
        {
            var reply = await c.GetAsync("compute/v2.1/flavors");
            sb.Append((int)reply.Status / 100);
        }

        return sb.ToString();
    }

    private static async Task<string> RunWithSeedAsync(int seed)
    {
        var options = TestCloud.Options() with { Seed = seed, Faults = [FaultSpec.Parse("5xx:p=0.5,path=flavors")] };
        await using var c = await TestCloud.StartAsync(options);
        return await FlavorSequenceAsync(c);
    }

    [Fact]
    public async Task SameSeedSameFaultSequence()
    {
        var first = await RunWithSeedAsync(7);
        var second = await RunWithSeedAsync(7);
        Assert.Equal(first, second);
        Assert.Contains("2", first, StringComparison.Ordinal);
        Assert.Contains("5", first, StringComparison.Ordinal);
        Assert.NotEqual(first, await RunWithSeedAsync(8));

        // Reseeding over the control API replays the same sequence, whatever the cloud's own seed.
        await using var c = await TestCloud.StartAsync(TestCloud.Options() with { Seed = 1 });
        const string put = """{"seed": 7, "faults": ["5xx:p=0.5,path=flavors"]}""";
        Assert.Equal(HttpStatusCode.OK, (await PutFaultsAsync(c, put)).Status);
        Assert.Equal(first, await FlavorSequenceAsync(c));
        Assert.Equal(HttpStatusCode.OK, (await PutFaultsAsync(c, put)).Status);
        Assert.Equal(first, await FlavorSequenceAsync(c));

        var stats = await c.StatsAsync();
        var fives = 2 * first.Count(ch => ch == '5');
        Assert.Equal(fives, stats["apiErrorsInjected"]!.GetValue<int>());
        Assert.Equal(fives, stats["faultsInjected"]!["5xx"]!.GetValue<int>());
    }

    private static async Task<string> ErroredEvacuationsAsync(int seed)
    {
        var options = TestCloud.Options(hosts: 3, perHost: 10) with
        {
            Seed = seed,
            Faults = [FaultSpec.Parse("evacuate-error:p=0.5"), FaultSpec.Parse("novalidhost:p=0.2")],
        };
        await using var c = await TestCloud.StartAsync(options);
        var vms = c.Cloud.ListInstances().Where(i => i.Host == "compute-01").OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        await c.FailHostAsync("compute-01");
        foreach (var vm in vms)
        {
            Assert.Equal(HttpStatusCode.OK, (await c.EvacuateAsync(vm.Id)).Status);
        }

        c.Advance(1000);
        var outcome = string.Join(",", vms.Select(vm =>
            vm.Name + "=" + c.Cloud.ListMigrations(new Model.MigrationFilter(InstanceUuid: vm.Id)).Single().Status +
            (c.Cloud.GetInstance(vm.Id)!.Fault?.Message.Contains("No valid host", StringComparison.Ordinal) == true ? "/nvh" : string.Empty)));
        var stats = c.Cloud.GetStats();
        Assert.Equal(vms.Count, stats.EvacuateCallsTotal);
        Assert.Equal(
            vms.Count(vm => c.Cloud.ListMigrations(new Model.MigrationFilter(InstanceUuid: vm.Id)).Single().Status == "error"),
            stats.ApiErrorsInjected);
        return outcome;
    }

    [Fact]
    public async Task SameSeedSameFailedEvacuations()
    {
        var first = await ErroredEvacuationsAsync(3);
        Assert.Equal(first, await ErroredEvacuationsAsync(3));
        Assert.Contains("=done", first, StringComparison.Ordinal);
        Assert.Contains("=error", first, StringComparison.Ordinal);
    }
}
