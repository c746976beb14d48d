using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;

namespace Evacuationd.Nova;

/// <summary>
/// One HTTP exchange with Nova, as the client saw it. The body is kept as Nova's UTF-8 bytes
/// and read on demand: as text (error messages), as a tree of nodes (small documents), or as
/// a read-only document (listings: a page of 500 servers as a node tree cost several times
/// its size in short-lived objects; the document is a few arrays).
/// </summary>
internal sealed class NovaResponse(int status, byte[] raw, string? requestId)
{
    private string? _text;
    private JsonNode? _body;
    private bool _bodyRead;

    public int Status => status;

    public string? RequestId => requestId;

    public bool Success => Status is >= 200 and < 300;

    /// <summary>The body as text.</summary>
    public string Text => _text ??= Encoding.UTF8.GetString(raw);

    /// <summary>The body as a tree of nodes; null when it is not a JSON object or array.</summary>
    public JsonNode? Body
    {
        get
        {
            if (!_bodyRead)
            {
                _bodyRead = true;
                try
                {
                    _body = IsJson ? JsonNode.Parse(raw) : null;
                }
                catch (JsonException)
                {
                }
            }
            return _body;
        }
    }

    /// <summary>The body as a read-only document (dispose it); null when it is not a JSON object or array.</summary>
    public JsonDocument? Document()
    {
        try
        {
            return IsJson ? JsonDocument.Parse(raw) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private bool IsJson => raw.Length > 0 && (raw[0] == (byte)'{' || raw[0] == (byte)'[');
}

/// <summary>
/// The names Nova calls are recorded under (the <c>call</c> label of
/// <c>evacuationd_nova_call_duration_seconds</c> and <c>evacuationd_nova_errors_total</c>):
/// short and stable, one per operation of the compute port.
/// </summary>
public static class NovaCalls
{
    /// <summary>Reading Nova's version document to negotiate the microversion (once per client).</summary>
    public const string Version = "version";
    public const string FindService = "find_service";
    public const string ListServices = "list_services";
    public const string ForceDown = "force_down";
    public const string DisableService = "disable_service";
    public const string ListServers = "list_servers";
    public const string GetServer = "get_server";
    public const string ListMigrations = "list_migrations";

    /// <summary>The evacuation migrations from one source host (the engine's batched observation).</summary>
    public const string ListHostMigrations = "list_host_migrations";

    /// <summary>Servers of all tenants changed since a time (the engine's batched observation).</summary>
    public const string ListChangedServers = "list_changed_servers";
    public const string Evacuate = "evacuate";

    /// <summary>Glance: the image's properties (the image-property evacuable filter).</summary>
    public const string GetImage = "get_image";

    /// <summary>Un-forcing the service down (retried while evacuation migrations remain), then enabling or re-reading it.</summary>
    public const string ReleaseService = "release_service";
    public const string LockServer = "lock_server";
    public const string UnlockServer = "unlock_server";
    public const string ResetState = "reset_state";
}

/// <summary>
/// Sends Nova requests: token and microversion headers, a bound per call, one re-auth on
/// 401 (Keystone rejected the token before Nova saw the request), retries of idempotent
/// calls on transient failures only, request ids kept.
/// </summary>
internal sealed class NovaTransport(HttpClient http, ITokenSource tokens, NovaClientOptions options, TimeProvider time, EvacuationMetrics? metrics = null) : IDisposable
{
    private readonly SemaphoreSlim _versionGate = new(1, 1);
    private Microversion? _version;

    /// <summary>The negotiated microversion: min(ours, Nova's maximum); refuses below 2.53.</summary>
    public async Task<Microversion> VersionAsync(CancellationToken ct)
    {
        if (_version is { } v)
        {
            return v;
        }
        await _versionGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_version is { } again)
            {
                return again;
            }
            var use = await MeasureAsync(NovaCalls.Version, () => NegotiateAsync(ct), ct).ConfigureAwait(false);
            _version = use;
            return use;
        }
        finally
        {
            _versionGate.Release();
        }
    }

    /// <summary>
    /// Runs one Nova call as its caller sees it (re-auth, retries and pages included) and
    /// records its latency and whether it succeeded: it returned (and <paramref name="ok"/>
    /// holds for its result). A call given up because the caller cancelled is not recorded.
    /// </summary>
    public async Task<T> MeasureAsync<T>(string call, Func<Task<T>> run, CancellationToken ct, Func<T, bool>? ok = null)
    {
        if (metrics is null)
        {
            return await run().ConfigureAwait(false);
        }
        var started = time.GetTimestamp();
        var success = false;
        var record = true;
        try
        {
            var result = await run().ConfigureAwait(false);
            success = ok?.Invoke(result) ?? true;
            return result;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            record = false;
            throw;
        }
        finally
        {
            if (record)
            {
                metrics.NovaCall(call, time.GetElapsedTime(started).TotalSeconds, success);
            }
        }
    }

    /// <inheritdoc cref="MeasureAsync{T}"/>
    public Task MeasureAsync(string call, Func<Task> run, CancellationToken ct) =>
        MeasureAsync(call, async () =>
        {
            await run().ConfigureAwait(false);
            return true;
        }, ct);

    private async Task<Microversion> NegotiateAsync(CancellationToken ct)
    {
        var ours = Microversion.TryParse(options.MaxMicroversion, out var configured) ? configured : Microversion.Minimum;
        var token = await tokens.GetAsync(false, ct).ConfigureAwait(false);
        var response = await SendRawAsync(HttpMethod.Get, token.ComputeEndpoint, null, token.Value, null, options.CallTimeout, ct).ConfigureAwait(false);
        if (!response.Success)
        {
            throw new ComputeException("read Nova's version document", NovaErrors.MessageOf(response.Text, response.Status), response.Status, response.RequestId, response.Status >= 500);
        }
        var doc = response.Body?["version"] ?? response.Body?["versions"]?.AsArray().FirstOrDefault(x => NovaJson.Str(x?["status"]) == "CURRENT");
        if (!Microversion.TryParse(NovaJson.Str(doc?["version"]), out var theirs))
        {
            throw new ComputeException("read Nova's version document", $"no microversion in the version document at {token.ComputeEndpoint}");
        }
        var use = Microversion.Min(ours, theirs);
        if (use < Microversion.Minimum)
        {
            throw new ComputeException("negotiate the compute microversion",
                $"Nova at {token.ComputeEndpoint} supports up to {theirs}; evacuationd needs {Microversion.Minimum} or newer (force-down by service id)");
        }
        return use;
    }

    /// <summary>
    /// Sends a request and returns Nova's answer; throws <see cref="ComputeException"/> for
    /// transport failures (timeouts, connection errors) after the allowed tries.
    /// Idempotent requests are tried again on transient failures (5xx, timeouts, no connection).
    /// </summary>
    public async Task<NovaResponse> SendAsync(string operation, HttpMethod method, string path, JsonNode? body, bool idempotent, CancellationToken ct)
    {
        var version = await VersionAsync(ct).ConfigureAwait(false);
        var tries = idempotent ? Math.Max(1, options.IdempotentTries) : 1;
        var reauthenticated = false;
        for (var attempt = 1; ; attempt++)
        {
            var token = await tokens.GetAsync(false, ct).ConfigureAwait(false);
            NovaResponse response;
            try
            {
                response = await SendRawAsync(method, new Uri(token.ComputeEndpoint, path), body, token.Value, version, options.CallTimeout, ct).ConfigureAwait(false);
            }
            catch (ComputeException) when (attempt < tries)
            {
                await BackoffAsync(attempt, ct).ConfigureAwait(false);
                continue;
            }
            if (response.Status == 401 && !reauthenticated)
            {
                // Keystone middleware refused the token: Nova did nothing. Re-auth once.
                reauthenticated = true;
                await tokens.GetAsync(true, ct).ConfigureAwait(false);
                attempt--;
                continue;
            }
            if (idempotent && response.Status >= 500 && attempt < tries)
            {
                await BackoffAsync(attempt, ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    /// <summary>Throws a <see cref="ComputeException"/> with Nova's message unless the answer is a success.</summary>
    public static NovaResponse Ensure(NovaResponse r, string operation) =>
        r.Success ? r : throw new ComputeException(operation, NovaErrors.MessageOf(r.Text, r.Status), r.Status, r.RequestId, transient: r.Status >= 500 || r.Status == 429);

    /// <summary>One evacuate call: never repeated, except once after a 401 (not processed by Nova).</summary>
    public async Task<EvacuateOutcome> EvacuateAsync(string path, JsonNode body, CancellationToken ct)
    {
        Microversion version;
        try
        {
            version = await VersionAsync(ct).ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            // Nothing was sent: the evacuate request cannot have reached Nova.
            return EvacuateOutcome.Rejected(0, $"not sent: {ex.Message}", ex.RequestId);
        }
        for (var reauth = 0; ; reauth++)
        {
            AccessToken token;
            try
            {
                token = await tokens.GetAsync(reauth > 0, ct).ConfigureAwait(false);
            }
            catch (ComputeException ex)
            {
                return EvacuateOutcome.Rejected(0, $"not sent: {ex.Message}", ex.RequestId);
            }
            NovaResponse r;
            try
            {
                r = await SendRawAsync(HttpMethod.Post, new Uri(token.ComputeEndpoint, path), body, token.Value, version, options.EvacuateTimeout, ct).ConfigureAwait(false);
            }
            catch (ComputeException ex) when (ex.InnerException is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } })
            {
                // Nothing was sent: the request cannot have reached Nova.
                return EvacuateOutcome.Rejected(0, $"Nova refused the connection: {ex.NovaMessage}", null);
            }
            catch (ComputeException ex)
            {
                return EvacuateOutcome.Unknown(ex.NovaMessage);
            }
            if (r.Status == 401 && reauth == 0)
            {
                continue;
            }
            if (r.Success)
            {
                return EvacuateOutcome.Accepted(r.RequestId);
            }
            var message = NovaErrors.MessageOf(r.Text, r.Status);
            return r.Status is >= 400 and < 500
                ? EvacuateOutcome.Rejected(r.Status, message, r.RequestId)
                : EvacuateOutcome.Unknown($"HTTP {r.Status}: {message}", r.RequestId, r.Status);
        }
    }

    internal static string? RequestIdOf(HttpResponseMessage response)
    {
        foreach (var name in new[] { "x-openstack-request-id", "x-compute-request-id" })
        {
            if (response.Headers.TryGetValues(name, out var values) && values.FirstOrDefault() is { Length: > 0 } id)
            {
                return id;
            }
        }
        return null;
    }

    private async Task<NovaResponse> SendRawAsync(HttpMethod method, Uri url, JsonNode? body, string token, Microversion? version, TimeSpan timeout, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        if (version is { } v)
        {
            request.Headers.TryAddWithoutValidation("OpenStack-API-Version", $"compute {v}");
            request.Headers.TryAddWithoutValidation("X-OpenStack-Nova-API-Version", v.ToString());
        }
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var raw = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            return new NovaResponse((int)response.StatusCode, raw, RequestIdOf(response));
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new ComputeException($"{method} {url.AbsolutePath}", $"no answer within {timeout.TotalSeconds:0.#} s", transient: true, inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ComputeException($"{method} {url.AbsolutePath}", $"cannot reach Nova at {url.GetLeftPart(UriPartial.Authority)}: {ex.Message}", transient: true, inner: ex);
        }
    }

    private Task BackoffAsync(int attempt, CancellationToken ct) =>
        Task.Delay(TimeSpan.FromMilliseconds(200 * Math.Pow(2, attempt - 1)), time, ct);

    public void Dispose() => _versionGate.Dispose();

    internal static bool IsNotFound(NovaResponse r) => r.Status == (int)HttpStatusCode.NotFound;
}
