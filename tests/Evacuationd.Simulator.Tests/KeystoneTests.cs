using System.Net;
using System.Text.Json.Nodes;

namespace Evacuationd.Simulator.Tests;

public class KeystoneTests
{
    [Fact]
    public async Task PasswordTokenCarriesCatalogAndExpiry()
    {
        await using var c = await TestCloud.StartAsync();
        using var response = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(TestCloud.PasswordAuth));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var token = response.Headers.GetValues("X-Subject-Token").Single();
        Assert.False(string.IsNullOrEmpty(token));
        Assert.StartsWith("req-", response.Headers.GetValues("x-openstack-request-id").Single(), StringComparison.Ordinal);

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!;
        Assert.Equal("password", body["methods"]![0]!.GetValue<string>());
        Assert.Equal("2026-11-23T10:01:20.000000Z", body["expires_at"]!.GetValue<string>());
        Assert.Equal("2026-11-23T09:01:20.000000Z", body["issued_at"]!.GetValue<string>());
        Assert.Equal("admin", body["user"]!["name"]!.GetValue<string>());
        Assert.Equal("default", body["user"]!["domain"]!["id"]!.GetValue<string>());
        Assert.Equal("admin", body["project"]!["name"]!.GetValue<string>());
        Assert.Equal(c.Cloud.AdminProjectId, body["project"]!["id"]!.GetValue<string>());
        Assert.Contains(body["roles"]!.AsArray(), r => r!["name"]!.GetValue<string>() == "admin");

        var catalog = body["catalog"]!.AsArray();
        Assert.Equal(["compute", "image", "identity"], catalog.Select(s => s!["type"]!.GetValue<string>()).ToArray());
        var compute = catalog.Single(s => s!["type"]!.GetValue<string>() == "compute")!;
        Assert.Equal("nova", compute["name"]!.GetValue<string>());
        var endpoints = compute["endpoints"]!.AsArray();
        Assert.Equal(["public", "internal", "admin"], endpoints.Select(e => e!["interface"]!.GetValue<string>()).ToArray());
        Assert.All(endpoints, e =>
        {
            Assert.Equal(c.Sim.BaseUrl + "compute/v2.1", e!["url"]!.GetValue<string>());
            Assert.Equal("RegionOne", e["region"]!.GetValue<string>());
            Assert.Equal("RegionOne", e["region_id"]!.GetValue<string>());
        });
        var image = catalog.Single(s => s!["type"]!.GetValue<string>() == "image")!;
        Assert.Equal(c.Sim.BaseUrl + "image", image["endpoints"]![0]!["url"]!.GetValue<string>());
        var identity = catalog.Single(s => s!["type"]!.GetValue<string>() == "identity")!;
        Assert.Equal(c.Sim.IdentityUrl.ToString(), identity["endpoints"]![0]!["url"]!.GetValue<string>());
        Assert.Equal(c.Sim.BaseUrl + "identity/v3", c.Sim.IdentityUrl.ToString());
        Assert.Equal(c.Sim.BaseUrl + "compute/v2.1", c.Sim.ComputeUrl.ToString());
    }

    [Fact]
    public async Task ABodySentChunkedIsRefusedLikeTheRealServicesReadIt()
    {
        // Nova's eventlet server and Keystone under mod_wsgi read a chunked body as empty (seen on
        // Debian's Nova): evacsim must not accept what they would not.
        await using var c = await TestCloud.StartAsync();
        using var chunkedAuth = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TestCloud.PasswordAuth)));
        chunkedAuth.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("identity/v3/auth/tokens", UriKind.Relative)) { Content = chunkedAuth };
        request.Headers.TransferEncodingChunked = true;

        using var refused = await c.Http.SendAsync(request);
        using var accepted = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(TestCloud.PasswordAuth));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("chunked", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    [Fact]
    public async Task ApplicationCredentialTokenWorksForNova()
    {
        await using var c = await TestCloud.StartAsync();
        const string auth = """{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"0123abcd","secret":"s3cr3t"}}}}""";
        using var response = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(auth));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!;
        Assert.Equal("application_credential", body["methods"]![0]!.GetValue<string>());
        Assert.Equal("0123abcd", body["application_credential"]!["id"]!.GetValue<string>());
        Assert.NotNull(body["catalog"]);

        var token = response.Headers.GetValues("X-Subject-Token").Single();
        var services = await c.SendAsync(HttpMethod.Get, "compute/v2.1/os-services", token: token);
        Assert.Equal(HttpStatusCode.OK, services.Status);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"auth":{}}""")]
    [InlineData("""{"auth":{"identity":{"methods":[]}}}""")]
    [InlineData("""{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"}}}}}}""")]
    [InlineData("""{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"x"}}}}""")]
    public async Task MalformedAuthIs400(string body)
    {
        await using var c = await TestCloud.StartAsync();
        using var response = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(400, error["code"]!.GetValue<int>());
        Assert.Equal("Bad Request", error["title"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
    }

    [Fact]
    public async Task NovaNeedsAValidUnexpiredToken()
    {
        await using var c = await TestCloud.StartAsync();
        using (var bare = await c.Http.GetAsync(new Uri("compute/v2.1/os-services", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
            var error = JsonNode.Parse(await bare.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal(401, error["code"]!.GetValue<int>());
            Assert.Equal("Unauthorized", error["title"]!.GetValue<string>());
            Assert.Equal("The request you have made requires authentication.", error["message"]!.GetValue<string>());
        }

        var wrong = await c.SendAsync(HttpMethod.Get, "compute/v2.1/os-services", token: "gAAAAAnot-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);

        c.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("compute/v2.1/os-services")).Status);

        c.Time.Advance(TimeSpan.FromMinutes(1));
        var expired = await c.GetAsync("compute/v2.1/os-services");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Equal("The request you have made requires authentication.", expired.Str("error.message"));
    }

    [Fact]
    public async Task UnscopedTokenHasNoCatalogAndIsRefusedByNova()
    {
        await using var c = await TestCloud.StartAsync();
        const string auth = """{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"x"}}}}}""";
        using var response = await c.Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), TestCloud.Json(auth));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!.AsObject();
        Assert.False(body.ContainsKey("catalog"));
        Assert.False(body.ContainsKey("project"));
        var token = response.Headers.GetValues("X-Subject-Token").Single();
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.SendAsync(HttpMethod.Get, "compute/v2.1/os-services", token: token)).Status);
    }

    [Fact]
    public async Task IdentityVersionDocument()
    {
        await using var c = await TestCloud.StartAsync();
        var json = JsonNode.Parse(await c.Http.GetStringAsync(new Uri("identity/v3", UriKind.Relative)))!;
        Assert.Equal("v3.14", json["version"]!["id"]!.GetValue<string>());
        Assert.Equal("stable", json["version"]!["status"]!.GetValue<string>());
        Assert.Equal(c.Sim.BaseUrl + "identity/v3/", json["version"]!["links"]![0]!["href"]!.GetValue<string>());
    }
}
