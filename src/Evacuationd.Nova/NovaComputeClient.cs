using System.Text.Json.Nodes;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;

namespace Evacuationd.Nova;

/// <summary>
/// The compute port over Nova's HTTP API (and Keystone's): the same code for a real cloud
/// and for evacsim, with no special path for the simulator. With metrics, every call is
/// recorded by its <see cref="NovaCalls"/> name: latency as the caller sees it (re-auth,
/// retries and pages included) and whether it failed.
/// </summary>
public sealed class NovaComputeClient : IComputeClient, IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly NovaTransport _nova;
    private readonly ITokenSource _tokens;
    private readonly NovaClientOptions _options;
    private readonly TimeProvider _time;

    /// <param name="options">Explicit settings; with <see cref="NovaClientOptions.Cloud"/> (or OS_CLOUD) completed from clouds.yaml.</param>
    /// <param name="metrics">Where Nova calls are recorded (none: not recorded).</param>
    public NovaComputeClient(NovaClientOptions options, TimeProvider time, HttpClient? http = null, CloudsYamlEnvironment? environment = null, EvacuationMetrics? metrics = null)
    {
        options = CloudsYaml.Resolve(options, environment ?? CloudsYamlEnvironment.FromProcess());
        _time = time;
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        _tokens = !string.IsNullOrEmpty(options.Token) && !string.IsNullOrEmpty(options.ComputeEndpoint)
            ? new FixedTokenSource(options)
            : new KeystoneTokenSource(_http, options, time);
        _nova = new NovaTransport(_http, _tokens, options, time, metrics);
    }

    /// <summary>The microversion in use (negotiated on first call).</summary>
    public Task<Microversion> MicroversionAsync(CancellationToken ct) => _nova.VersionAsync(ct);

    public Task<ComputeService?> FindComputeServiceAsync(string host, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.FindService, () => FindServiceAsync(host, ct), ct);

    private async Task<ComputeService?> FindServiceAsync(string host, CancellationToken ct)
    {
        const string op = "find the nova-compute service";
        var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Get, $"os-services?binary=nova-compute&host={Uri.EscapeDataString(host)}", null, true, ct).ConfigureAwait(false), op);
        using var doc = r.Document();
        return NovaJson.Items(doc?.RootElement ?? default, "services")
            .Select(NovaJson.Service)
            .FirstOrDefault(s => string.Equals(s.Host, host, StringComparison.Ordinal));
    }

    public Task<IReadOnlyList<ComputeService>> ListComputeServicesAsync(CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ListServices, () => ListServicesAsync(ct), ct);

    private async Task<IReadOnlyList<ComputeService>> ListServicesAsync(CancellationToken ct)
    {
        const string op = "list nova-compute services";
        var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Get, "os-services?binary=nova-compute", null, true, ct).ConfigureAwait(false), op);
        using var doc = r.Document();
        return NovaJson.Items(doc?.RootElement ?? default, "services").Select(NovaJson.Service).ToList();
    }

    public Task<ComputeService> ForceDownAsync(ComputeService service, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ForceDown,
            () => UpdateServiceAsync("force the service down", service, new JsonObject { ["forced_down"] = true }, ct), ct);

    public Task<ComputeService> DisableAsync(ComputeService service, string reason, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.DisableService,
            () => UpdateServiceAsync("disable the service", service, new JsonObject { ["status"] = "disabled", ["disabled_reason"] = reason }, ct), ct);

    public Task<IReadOnlyList<ServerView>> ListServersOnHostAsync(string host, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ListServers, () => ListServersAsync(host, ct), ct);

    private Task<IReadOnlyList<ServerView>> ListServersAsync(string host, CancellationToken ct) =>
        ListServerPagesAsync("list the host's servers", $"host={Uri.EscapeDataString(host)}", ct);

    public Task<IReadOnlyList<ServerView>> ListServersChangedSinceAsync(DateTimeOffset since, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ListChangedServers, async () =>
        {
            // With changes-since Nova also lists deleted servers (status DELETED): they are left out,
            // so that a deleted server reads as absent, as a GET of it would.
            var changed = await ListServerPagesAsync("list the servers changed since a time",
                $"changes-since={Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture))}", ct).ConfigureAwait(false);
            return (IReadOnlyList<ServerView>)changed.Where(s => !string.Equals(s.Status, "DELETED", StringComparison.OrdinalIgnoreCase)).ToList();
        }, ct);

    /// <summary>servers/detail of all tenants with <paramref name="filter"/>, every page.</summary>
    private async Task<IReadOnlyList<ServerView>> ListServerPagesAsync(string op, string filter, CancellationToken ct)
    {
        var servers = new List<ServerView>();
        string? marker = null;
        while (true)
        {
            var path = $"servers/detail?all_tenants=1&{filter}&limit={_options.PageSize}" +
                       (marker is null ? "" : $"&marker={Uri.EscapeDataString(marker)}");
            var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Get, path, null, true, ct).ConfigureAwait(false), op);
            using var doc = r.Document();
            var root = doc?.RootElement ?? default;
            var page = NovaJson.Items(root, "servers").Select(NovaJson.Server).ToList();
            servers.AddRange(page);
            var hasNext = NovaJson.HasNext(root, "servers_links");
            if (page.Count == 0 || !hasNext)
            {
                return servers;
            }
            marker = page[^1].Id;
        }
    }

    public Task<ServerView?> GetServerAsync(string instanceUuid, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.GetServer, () => ReadServerAsync(instanceUuid, ct), ct);

    private async Task<ServerView?> ReadServerAsync(string instanceUuid, CancellationToken ct)
    {
        const string op = "read the server";
        var r = await _nova.SendAsync(op, HttpMethod.Get, $"servers/{Uri.EscapeDataString(instanceUuid)}", null, true, ct).ConfigureAwait(false);
        if (NovaTransport.IsNotFound(r))
        {
            return null;
        }
        using var doc = NovaTransport.Ensure(r, op).Document();
        var server = NovaJson.Prop(doc?.RootElement ?? default, "server");
        return server.ValueKind != System.Text.Json.JsonValueKind.Object
            ? throw new ComputeException(op, "Nova answered without a server object", r.Status, r.RequestId)
            : NovaJson.Server(server);
    }

    public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsAsync(string instanceUuid, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ListMigrations, () => ListMigrationsAsync(instanceUuid, ct), ct);

    private async Task<IReadOnlyList<MigrationView>> ListMigrationsAsync(string instanceUuid, CancellationToken ct)
    {
        const string op = "list the instance's evacuation migrations";
        var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Get,
            $"os-migrations?instance_uuid={Uri.EscapeDataString(instanceUuid)}&migration_type=evacuation", null, true, ct).ConfigureAwait(false), op);
        using var doc = r.Document();
        return NovaJson.Items(doc?.RootElement ?? default, "migrations")
            .Select(NovaJson.Migration)
            .OrderByDescending(m => m.Id)
            .ToList();
    }

    public Task<IReadOnlyList<MigrationView>> ListEvacuationMigrationsFromHostAsync(string sourceHost, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ListHostMigrations, () => ListHostMigrationsAsync(sourceHost, ct), ct);

    private async Task<IReadOnlyList<MigrationView>> ListHostMigrationsAsync(string sourceHost, CancellationToken ct)
    {
        const string op = "list the host's evacuation migrations";
        var all = new List<MigrationView>();
        string? marker = null;
        while (true)
        {
            // From 2.59 Nova pages this list (newest first, marker = a migration's uuid); before, one answer holds all.
            var path = $"os-migrations?source_compute={Uri.EscapeDataString(sourceHost)}&migration_type=evacuation" +
                       (marker is null ? "" : $"&limit={_options.PageSize}&marker={Uri.EscapeDataString(marker)}");
            var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Get, path, null, true, ct).ConfigureAwait(false), op);
            using var doc = r.Document();
            var root = doc?.RootElement ?? default;
            var page = NovaJson.Items(root, "migrations").ToList();
            all.AddRange(page.Select(NovaJson.Migration));
            var hasNext = NovaJson.HasNext(root, "migrations_links");
            if (page.Count == 0 || !hasNext || NovaJson.Str(page[^1], "uuid") is not { } last)
            {
                return all.OrderByDescending(m => m.Id).ToList();
            }
            marker = last;
        }
    }

    public Task<EvacuateOutcome> EvacuateAsync(string instanceUuid, string? targetHost, CancellationToken ct)
    {
        var args = new JsonObject();
        if (!string.IsNullOrEmpty(targetHost))
        {
            args["host"] = targetHost;
        }
        // From 2.14 the answer is 200 with an empty body; "force" is never sent (gone at 2.68).
        // Anything but an accepted evacuation counts as a failed call.
        return _nova.MeasureAsync(NovaCalls.Evacuate,
            () => _nova.EvacuateAsync($"servers/{Uri.EscapeDataString(instanceUuid)}/action", new JsonObject { ["evacuate"] = args }, ct),
            ct, outcome => outcome.Kind == EvacuateOutcomeKind.Accepted);
    }

    public Task<IReadOnlyDictionary<string, string>> GetImagePropertiesAsync(string imageId, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.GetImage, () => ReadImagePropertiesAsync(imageId, ct), ct);

    private async Task<IReadOnlyDictionary<string, string>> ReadImagePropertiesAsync(string imageId, CancellationToken ct)
    {
        var token = await _tokens.GetAsync(false, ct).ConfigureAwait(false);
        if (token.ImageEndpoint is null)
        {
            throw new ComputeException("read the image", "the token's catalog has no image endpoint (needed by the image-property evacuable filter)");
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.CallTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(token.ImageEndpoint, $"v2/images/{Uri.EscapeDataString(imageId)}"));
        request.Headers.TryAddWithoutValidation("X-Auth-Token", token.Value);
        try
        {
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                throw new ComputeException("read the image", NovaErrors.MessageOf(text, status), status, NovaTransport.RequestIdOf(response), status >= 500);
            }
            // Glance v2 puts custom properties at the top level of the image.
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            return NovaJson.StringMap(doc.RootElement);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new ComputeException("read the image", ex.Message, transient: true, inner: ex);
        }
    }

    public Task<ComputeService> ReleaseServiceAsync(ComputeService service, bool enable, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.ReleaseService, () => ReleaseAsync(service, enable, ct), ct);

    private async Task<ComputeService> ReleaseAsync(ComputeService service, bool enable, CancellationToken ct)
    {
        const string op = "return the service to service";
        var deadline = _time.GetUtcNow() + _options.ReleaseRetryFor;
        for (var round = 1; ; round++)
        {
            var r = await _nova.SendAsync(op, HttpMethod.Put, $"os-services/{Uri.EscapeDataString(service.Id)}", new JsonObject { ["forced_down"] = false }, true, ct).ConfigureAwait(false);
            var message = r.Success ? "" : NovaErrors.MessageOf(r.Text, r.Status);
            // Nova refuses while `done` evacuation migrations remain: the restarted
            // nova-compute has not cleaned them up yet (FACTS.md). Try again shortly.
            if (r.Status == 400 && message.Contains("evacuation migration records remain", StringComparison.Ordinal) && _time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * round)), _time, ct).ConfigureAwait(false);
                continue;
            }
            NovaTransport.Ensure(r, op);
            break;
        }
        return enable
            ? await UpdateServiceAsync("enable the service", service, new JsonObject { ["status"] = "enabled" }, ct).ConfigureAwait(false)
            : (await FindServiceAsync(service.Host, ct).ConfigureAwait(false)) ?? service;
    }

    public Task LockAsync(string instanceUuid, string reason, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.LockServer, () => LockServerAsync(instanceUuid, reason, ct), ct);

    private async Task LockServerAsync(string instanceUuid, string reason, CancellationToken ct)
    {
        const string op = "lock the server";
        var version = await _nova.VersionAsync(ct).ConfigureAwait(false);
        JsonNode body = version >= Microversion.LockReason
            ? new JsonObject { ["lock"] = new JsonObject { ["locked_reason"] = reason } }
            : new JsonObject { ["lock"] = null };
        NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Post, $"servers/{Uri.EscapeDataString(instanceUuid)}/action", body, true, ct).ConfigureAwait(false), op);
    }

    public Task UnlockAsync(string instanceUuid, CancellationToken ct) =>
        _nova.MeasureAsync(NovaCalls.UnlockServer, async () =>
        {
            const string op = "unlock the server";
            NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Post, $"servers/{Uri.EscapeDataString(instanceUuid)}/action", new JsonObject { ["unlock"] = null }, true, ct).ConfigureAwait(false), op);
        }, ct);

    public async Task ResetStateAsync(string instanceUuid, string state, CancellationToken ct)
    {
        if (state is not ("error" or "active"))
        {
            throw new ArgumentException($"reset state must be error or active, not {state}", nameof(state));
        }
        await _nova.MeasureAsync(NovaCalls.ResetState, () => ResetServerStateAsync(instanceUuid, state, ct), ct).ConfigureAwait(false);
    }

    private async Task ResetServerStateAsync(string instanceUuid, string state, CancellationToken ct)
    {
        const string op = "reset the server's state";
        NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Post, $"servers/{Uri.EscapeDataString(instanceUuid)}/action",
            new JsonObject { ["os-resetState"] = new JsonObject { ["state"] = state } }, true, ct).ConfigureAwait(false), op);
    }

    public void Dispose()
    {
        _nova.Dispose();
        (_tokens as IDisposable)?.Dispose();
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<ComputeService> UpdateServiceAsync(string op, ComputeService service, JsonObject body, CancellationToken ct)
    {
        var r = NovaTransport.Ensure(await _nova.SendAsync(op, HttpMethod.Put, $"os-services/{Uri.EscapeDataString(service.Id)}", body, true, ct).ConfigureAwait(false), op);
        using var doc = r.Document();
        var s = NovaJson.Prop(doc?.RootElement ?? default, "service");
        return s.ValueKind != System.Text.Json.JsonValueKind.Object ? service : NovaJson.Service(s) with { Host = service.Host };
    }
}
