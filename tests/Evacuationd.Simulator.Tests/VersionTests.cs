using System.Net;
using System.Text.Json.Nodes;

namespace Evacuationd.Simulator.Tests;

public class VersionTests
{
    [Fact]
    public async Task RootDocumentListsV20AndV21WithoutToken()
    {
        await using var c = await TestCloud.StartAsync();
        using var response = await c.Http.GetAsync(new Uri("compute/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var versions = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["versions"]!.AsArray();
        Assert.Equal(2, versions.Count);
        Assert.Equal("v2.0", versions[0]!["id"]!.GetValue<string>());
        Assert.Equal("SUPPORTED", versions[0]!["status"]!.GetValue<string>());
        Assert.Equal(string.Empty, versions[0]!["version"]!.GetValue<string>());
        var v21 = versions[1]!;
        Assert.Equal("v2.1", v21["id"]!.GetValue<string>());
        Assert.Equal("CURRENT", v21["status"]!.GetValue<string>());
        Assert.Equal("2.93", v21["version"]!.GetValue<string>());
        Assert.Equal("2.1", v21["min_version"]!.GetValue<string>());
        Assert.Equal("2013-07-23T11:33:21Z", v21["updated"]!.GetValue<string>());
        Assert.Equal(c.Sim.BaseUrl + "compute/v2.1/", v21["links"]![0]!["href"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("compute/v2.1")]
    [InlineData("compute/v2.1/")]
    public async Task V21Document(string path)
    {
        await using var c = await TestCloud.StartAsync();
        var json = JsonNode.Parse(await c.Http.GetStringAsync(new Uri(path, UriKind.Relative)))!["version"]!;
        Assert.Equal("v2.1", json["id"]!.GetValue<string>());
        Assert.Equal("2.93", json["version"]!.GetValue<string>());
        Assert.Equal("2.1", json["min_version"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnsupportedMicroversionIs406()
    {
        await using var c = await TestCloud.StartAsync();
        var reply = await c.GetAsync("compute/v2.1/os-services", "2.95");
        Assert.Equal(HttpStatusCode.NotAcceptable, reply.Status);
        Assert.Equal(406, reply.Json!["computeFault"]!["code"]!.GetValue<int>());
        Assert.Equal("Version 2.95 is not supported by the API. Minimum is 2.1 and maximum is 2.93.", reply.Json["computeFault"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MicroversionNegotiationHeaders()
    {
        await using var c = await TestCloud.StartAsync();
        var latest = await c.GetAsync("compute/v2.1/os-services", "latest");
        Assert.Equal("compute 2.93", latest.Header("OpenStack-API-Version"));
        Assert.Contains("OpenStack-API-Version", latest.Header("Vary"), StringComparison.Ordinal);
        Assert.Contains("X-OpenStack-Nova-API-Version", latest.Header("Vary"), StringComparison.Ordinal);

        var absent = await c.GetAsync("compute/v2.1/os-services", null);
        Assert.Equal("compute 2.1", absent.Header("OpenStack-API-Version"));
        // Before 2.53 the service id is an integer; before 2.11 there is no forced_down.
        var service = absent.Json!["services"]![0]!.AsObject();
        Assert.Equal(1, service["id"]!.GetValue<int>());
        Assert.False(service.ContainsKey("forced_down"));

        var legacy = new HttpRequestMessage(HttpMethod.Get, new Uri("compute/v2.1/os-services", UriKind.Relative));
        legacy.Headers.TryAddWithoutValidation("X-Auth-Token", c.Token);
        legacy.Headers.TryAddWithoutValidation("X-OpenStack-Nova-API-Version", "2.60");
        using var response = await c.Http.SendAsync(legacy);
        Assert.Equal("compute 2.60", response.Headers.GetValues("OpenStack-API-Version").Single());

        var invalid = await c.GetAsync("compute/v2.1/os-services", "2");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.NotNull(invalid.Json!["badRequest"]);
    }

    [Fact]
    public async Task NovaResponsesCarryTheSameRequestIdTwiceAndItIsRecorded()
    {
        await using var c = await TestCloud.StartAsync();
        var reply = await c.GetAsync("compute/v2.1/servers/detail?all_tenants=1");
        var id = reply.Header("x-openstack-request-id");
        Assert.Matches("^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id);
        Assert.Equal(id, reply.Header("x-compute-request-id"));
        var record = Assert.Single(c.Cloud.GetRequestLog(), r => r.RequestId == id);
        Assert.Equal("GET", record.Method);
        Assert.Equal(200, record.StatusCode);
        Assert.StartsWith("/compute/v2.1/servers/detail", record.Path, StringComparison.Ordinal);
    }
}
