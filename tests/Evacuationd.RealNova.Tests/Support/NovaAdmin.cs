using System.Text.Json.Nodes;

namespace Evacuationd.RealNova.Tests.Support;

/// <summary>
/// What a test does to the real Nova that evacuationd never does (boot, delete), and what it
/// reads to check evacuationd's work (servers, services, evacuation migrations): plain admin
/// calls with the stack's token, independent of the client under test.
/// </summary>
public sealed class NovaAdmin : IDisposable
{
    /// <summary>The image and flavor start.sh provides.</summary>
    private const string Image = "11111111-2222-3333-4444-555555555555";
    private const string Flavor = "1";

    private readonly HttpClient _http;

    public NovaAdmin(RealNovaCloud stack)
    {
        _http = new HttpClient { BaseAddress = stack.NovaUrl, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Add("X-Auth-Token", "admin:admin");
        _http.DefaultRequestHeaders.Add("OpenStack-API-Version", "compute 2.93");
    }

    /// <summary>Boots <paramref name="count"/> servers on <paramref name="host"/> and waits until they are ACTIVE there.</summary>
    public async Task<IReadOnlyList<NovaServer>> BootAsync(string host, int count, string name)
    {
        var body = new JsonObject
        {
            ["server"] = new JsonObject
            {
                ["name"] = name,
                ["imageRef"] = Image,
                ["flavorRef"] = Flavor,
                ["networks"] = "none",
                ["host"] = host,
                ["min_count"] = count,
                ["max_count"] = count,
            },
        };
        using (var created = await _http.PostAsync("servers", Body(body)))
        {
            await EnsureAsync(created, $"boot {count} on {host}");
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30 + count * 3);
        while (true)
        {
            var mine = (await ServersAsync(host)).Where(s => s.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
            if (mine.FirstOrDefault(s => s.Status == "ERROR") is { } failed)
            {
                throw new InvalidOperationException($"booting on {host}: {failed.Id} went to ERROR");
            }
            if (mine.Count(s => s.Status == "ACTIVE" && s.TaskState is null) >= count)
            {
                return mine;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"booting {count} on {host}: {mine.Count(s => s.Status == "ACTIVE")} ACTIVE in time");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(300));
        }
    }

    /// <summary>Every server (all projects), or those on one host.</summary>
    public async Task<IReadOnlyList<NovaServer>> ServersAsync(string? host = null)
    {
        var path = "servers/detail?all_tenants=1" + (host is null ? "" : "&host=" + Uri.EscapeDataString(host));
        var doc = await GetAsync(path);
        return [.. doc["servers"]!.AsArray().Select(s => new NovaServer(
            (string)s!["id"]!,
            (string?)s["name"] ?? "",
            (string?)s["status"] ?? "",
            (string?)s["OS-EXT-SRV-ATTR:host"],
            (string?)s["OS-EXT-STS:task_state"]))];
    }

    /// <summary>Nova's evacuation migrations from <paramref name="sourceHost"/>.</summary>
    public async Task<IReadOnlyList<NovaMigration>> EvacuationsFromAsync(string sourceHost)
    {
        var doc = await GetAsync("os-migrations?migration_type=evacuation&source_compute=" + Uri.EscapeDataString(sourceHost));
        return [.. doc["migrations"]!.AsArray().Select(m => new NovaMigration(
            (long)m!["id"]!,
            (string)m["instance_uuid"]!,
            (string?)m["status"] ?? "",
            (string?)m["dest_compute"]))];
    }

    public async Task<NovaService> ServiceAsync(string host)
    {
        var doc = await GetAsync("os-services?binary=nova-compute&host=" + Uri.EscapeDataString(host));
        var s = doc["services"]!.AsArray().Single()!;
        return new NovaService((string)s["id"]!, (string)s["state"]! == "up", (string)s["status"]! == "enabled", (bool)s["forced_down"]!);
    }

    /// <summary>Deletes every server on the host and waits until Nova no longer lists them.</summary>
    public async Task DeleteServersOnAsync(string host)
    {
        var servers = await ServersAsync(host);
        foreach (var s in servers)
        {
            using var reset = await _http.PostAsync($"servers/{s.Id}/action", Body(new JsonObject { ["os-resetState"] = new JsonObject { ["state"] = "active" } }));
            using var deleted = await _http.DeleteAsync($"servers/{s.Id}");
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await ServersAsync(host)).Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"servers on {host} still listed 60 s after their delete");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(300));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>With Content-Length: nova-api's eventlet server reads a chunked body as empty.</summary>
    private static StringContent Body(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private async Task<JsonNode> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        await EnsureAsync(response, "GET " + path);
        return (await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync()))!;
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{what}: Nova answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}

public sealed record NovaServer(string Id, string Name, string Status, string? Host, string? TaskState);

public sealed record NovaMigration(long Id, string InstanceUuid, string Status, string? DestCompute);

public sealed record NovaService(string Id, bool Up, bool Enabled, bool ForcedDown)
{
    public bool Healthy => Up && Enabled && !ForcedDown;
}
