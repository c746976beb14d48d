using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Chaos;

/// <summary>One instance as evacsim's <c>GET /_sim/instances</c> shows it.</summary>
internal sealed record SimInstance(
    string Uuid,
    string Name,
    string? Host,
    [property: JsonPropertyName("vm_state")] string VmState,
    [property: JsonPropertyName("task_state")] string? TaskState,
    string Status);

/// <summary>
/// evacsim as a separate process in the hub (the simulated Nova the daemons call), and its
/// control API: power, Nova faults, and what it saw (stats, evacuate calls, migrations).
/// </summary>
internal sealed class SimCloud : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly ChildProcess _process;

    private SimCloud(ChildProcess process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUrl { get; }

    /// <summary>Keystone's auth_url (the daemons find Nova in its catalog).</summary>
    public string AuthUrl => new Uri(BaseUrl, "identity/v3").ToString();

    public ChildProcess Process => _process;

    public static async Task<SimCloud> StartAsync(string evacsim, ChaosOptions o, string work)
    {
        var port = FreePort(IPAddress.Parse(Topology.HubAddress));
        var url = $"http://{Topology.HubAddress}:{port.ToString(CultureInfo.InvariantCulture)}";
        var args = new[]
        {
            "--listen", url, "--hosts", o.Hosts.ToString(CultureInfo.InvariantCulture),
            "--instances-per-host", o.InstancesPerHost.ToString(CultureInfo.InvariantCulture),
            "--rebuild-ms", o.RebuildMs.ToString(CultureInfo.InvariantCulture),
            // A powered-off host stops being schedulable within a second (Nova's service_down_time
            // is 60 s: a target dying under a rebuild is left to the daemons' rebuild timeout).
            "--service-down-time-ms", "1000",
            // Nova's conductor is the bottleneck (FACTS.md: 20 evacuations at once take 8-17 s):
            // a fencing's records stay in flight for seconds, where the faults hit them.
            "--max-parallel-rebuilds", o.MaxParallelRebuilds.ToString(CultureInfo.InvariantCulture),
            "--seed", o.Seed.ToString(CultureInfo.InvariantCulture),
        };
        var process = ChildProcess.Start(evacsim, args, Path.Combine(work, "evacsim.log"));
        var sim = new SimCloud(process, new Uri(url + "/"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"evacsim exited ({process.ExitCode}):\n{process.Tail()}");
            }
            try
            {
                using var r = await sim._http.GetAsync(new Uri("_sim/stats", UriKind.Relative));
                if (r.IsSuccessStatusCode)
                {
                    return sim;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"evacsim did not answer on {url} within 60 s:\n{process.Tail()}");
            }
            await Task.Delay(200);
        }
    }

    public async Task PowerOffAsync(string host)
    {
        using var r = await _http.PostAsync(new Uri($"_sim/hosts/{host}/power-off", UriKind.Relative), null);
        r.EnsureSuccessStatusCode();
    }

    /// <summary>Replaces evacsim's fault rules (and reseeds its fault generator).</summary>
    public async Task SetFaultsAsync(JsonArray faults, int seed)
    {
        var body = new JsonObject { ["seed"] = seed, ["faults"] = faults };
        using var r = await _http.PutAsJsonAsync(new Uri("_sim/faults", UriKind.Relative), body);
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"evacsim refused the faults {body.ToJsonString()}: {await r.Content.ReadAsStringAsync()}");
        }
    }

    public async Task ClearFaultsAsync()
    {
        using var r = await _http.DeleteAsync(new Uri("_sim/faults", UriKind.Relative));
        r.EnsureSuccessStatusCode();
    }

    public Task<SimStats> StatsAsync() => GetAsync<SimStats>("_sim/stats");

    public Task<List<SimInstance>> InstancesAsync() => GetAsync<List<SimInstance>>("_sim/instances");

    public Task<List<EvacuateCallRecord>> EvacuateCallsAsync() => GetAsync<List<EvacuateCallRecord>>("_sim/evacuate-calls");

    public Task<List<MigrationSnapshot>> MigrationsAsync() => GetAsync<List<MigrationSnapshot>>("_sim/migrations");

    public Task<List<HostSnapshot>> HostsAsync() => GetAsync<List<HostSnapshot>>("_sim/hosts");

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        _http.Dispose();
    }

    private async Task<T> GetAsync<T>(string path)
    {
        var value = await _http.GetFromJsonAsync<T>(new Uri(path, UriKind.Relative), Json);
        return value ?? throw new InvalidOperationException($"evacsim answered null for {path}");
    }

    private static int FreePort(IPAddress address)
    {
        using var l = new TcpListener(address, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
