using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Simulator.Tests;

/// <summary>An evacsim on 127.0.0.1 (free port) whose model clock is a <see cref="FakeTimeProvider"/>,
/// plus an HttpClient and an admin token.</summary>
internal sealed class TestCloud : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 9, 1, 20, TimeSpan.Zero);

    private TestCloud(RunningSimulator sim, FakeTimeProvider time)
    {
        Sim = sim;
        Time = time;
        Http = new HttpClient { BaseAddress = sim.BaseUrl };
    }

    public RunningSimulator Sim { get; }

    public SimulatedCloud Cloud => Sim.Cloud;

    public FakeTimeProvider Time { get; }

    public HttpClient Http { get; }

    public string Token { get; private set; } = string.Empty;

    public static SimulatorOptions Options(int hosts = 3, int perHost = 2, int rebuildMs = 1000) => new()
    {
        Hosts = hosts,
        InstancesPerHost = perHost,
        Rebuild = TimeSpan.FromMilliseconds(rebuildMs),
        ServiceDownTime = TimeSpan.FromSeconds(60),
        Cleanup = TimeSpan.FromSeconds(3),
        Listen = "http://127.0.0.1:0",
    };

    public static Task<TestCloud> StartAsync(int hosts = 3, int perHost = 2, int rebuildMs = 1000) =>
        StartAsync(Options(hosts, perHost, rebuildMs));

    public static async Task<TestCloud> StartAsync(SimulatorOptions options)
    {
        var time = new FakeTimeProvider(Start);
        var sim = await SimulatorHost.StartAsync(options, time);
        var cloud = new TestCloud(sim, time);
        cloud.Token = await cloud.IssueTokenAsync();
        return cloud;
    }

    /// <summary>Starts on an already-built cloud (whose clock must be a FakeTimeProvider).</summary>
    public static async Task<TestCloud> StartAsync(SimulatedCloud model)
    {
        var sim = await SimulatorHost.StartAsync(model, "http://127.0.0.1:0");
        var cloud = new TestCloud(sim, (FakeTimeProvider)model.Time);
        cloud.Token = await cloud.IssueTokenAsync();
        return cloud;
    }

    public void Advance(int ms) => Time.Advance(TimeSpan.FromMilliseconds(ms));

    public async Task<string> IssueTokenAsync()
    {
        using var response = await Http.PostAsync(new Uri("identity/v3/auth/tokens", UriKind.Relative), Json(PasswordAuth));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.GetValues("X-Subject-Token").Single();
    }

    public const string PasswordAuth =
        """{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"x"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}""";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Sends a Nova request with the token and a microversion (null: no header).</summary>
    public async Task<Reply> SendAsync(
        HttpMethod method, string path, string? body = null, string? microversion = "2.93", string? token = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("X-Auth-Token", token ?? Token);
        if (microversion is not null)
        {
            request.Headers.TryAddWithoutValidation("OpenStack-API-Version", "compute " + microversion);
        }

        if (body is not null)
        {
            request.Content = Json(body);
        }

        using var response = await Http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new Reply(response.StatusCode, text, text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonNode.Parse(text) : null, response.Headers, response.Content.Headers);
    }

    public Task<Reply> GetAsync(string path, string? microversion = "2.93") => SendAsync(HttpMethod.Get, path, null, microversion);

    public Task<Reply> PostAsync(string path, string body, string? microversion = "2.93") => SendAsync(HttpMethod.Post, path, body, microversion);

    public Task<Reply> PutAsync(string path, string body, string? microversion = "2.93") => SendAsync(HttpMethod.Put, path, body, microversion);

    public Task<Reply> EvacuateAsync(string id, string body = """{"evacuate":{}}""", string microversion = "2.93") =>
        PostAsync($"compute/v2.1/servers/{id}/action", body, microversion);

    /// <summary>Guard against a test hanging forever on an await that should complete (not a sleep).</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    /// <summary>Completes once the simulator has started holding <paramref name="count"/> requests (latency or
    /// timeout) in total, i.e. their delay timers exist on the fake clock and advancing it will release them.</summary>
    public Task HoldsStartedAsync(long count) => Cloud.FaultInjector.WhenHoldsStarted(count).WaitAsync(Guard);

    /// <summary>GET /_sim/stats as JSON.</summary>
    public async Task<JsonNode> StatsAsync() =>
        JsonNode.Parse(await Http.GetStringAsync(new Uri("_sim/stats", UriKind.Relative)))!;

    /// <summary>Powers a host off and forces its service down (evacuations from it are then accepted).</summary>
    public async Task FailHostAsync(string host)
    {
        Cloud.PowerOff(host);
        Assert.Equal(HttpStatusCode.OK, (await ForceDownAsync(host)).Status);
    }

    public async Task<JsonObject> ServerAsync(string id)
    {
        var reply = await GetAsync($"compute/v2.1/servers/{id}");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json!["server"]!.AsObject();
    }

    public async Task<JsonObject> ServiceAsync(string host)
    {
        var reply = await GetAsync($"compute/v2.1/os-services?binary=nova-compute&host={host}");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json!["services"]!.AsArray().Single()!.AsObject();
    }

    public async Task<Reply> ForceDownAsync(string host, bool down = true)
    {
        var service = await ServiceAsync(host);
        return await PutAsync($"compute/v2.1/os-services/{service["id"]}", down ? """{"forced_down": true}""" : """{"forced_down": false}""");
    }

    public async Task<JsonArray> MigrationsAsync(string instance)
    {
        var reply = await GetAsync($"compute/v2.1/os-migrations?instance_uuid={instance}&migration_type=evacuation");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json!["migrations"]!.AsArray();
    }

    /// <summary>Instance ids on a host, from the model.</summary>
    public IReadOnlyList<string> InstancesOn(string host) =>
        Cloud.ListInstances().Where(i => i.Host == host).Select(i => i.Id).OrderBy(i => i, StringComparer.Ordinal).ToList();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Sim.DisposeAsync();
    }
}

internal sealed record Reply(HttpStatusCode Status, string Text, JsonNode? Json, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders)
{
    public string Header(string name) =>
        Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : ContentHeaders.TryGetValues(name, out var cvalues) ? string.Join(",", cvalues)
        : string.Empty;

    public string? Str(string path)
    {
        JsonNode? node = Json;
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node?.ToString();
    }
}
