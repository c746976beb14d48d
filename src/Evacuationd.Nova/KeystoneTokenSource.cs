using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Core.Compute;

namespace Evacuationd.Nova;

/// <summary>A token and the endpoints it came with.</summary>
internal sealed record AccessToken(string Value, DateTimeOffset ExpiresAt, Uri ComputeEndpoint, Uri? ImageEndpoint);

/// <summary>Where the client gets its token from.</summary>
internal interface ITokenSource
{
    /// <summary>A valid token; <paramref name="refresh"/> forces a new one (after a 401).</summary>
    Task<AccessToken> GetAsync(bool refresh, CancellationToken ct);
}

/// <summary>A fixed endpoint and token (tests, pre-issued tokens): nothing to refresh.</summary>
internal sealed class FixedTokenSource(NovaClientOptions options) : ITokenSource
{
    private readonly AccessToken _token = new(options.Token!, DateTimeOffset.MaxValue, Endpoint(options.ComputeEndpoint!), null);

    public Task<AccessToken> GetAsync(bool refresh, CancellationToken ct) => Task.FromResult(_token);

    internal static Uri Endpoint(string url) => new(url.EndsWith('/') ? url : url + "/");
}

/// <summary>
/// Keystone v3 authentication (password or application credential) with a cached token,
/// refreshed ahead of expires_at, and a forced refresh after a 401. The compute endpoint
/// comes from the token's catalog (interface, region) unless one is configured.
/// Secrets are never logged nor put in exception messages.
/// </summary>
internal sealed class KeystoneTokenSource(HttpClient http, NovaClientOptions options, TimeProvider time) : ITokenSource, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AccessToken? _cached;

    public async Task<AccessToken> GetAsync(bool refresh, CancellationToken ct)
    {
        var seen = _cached;
        if (!refresh && seen is not null && !NeedsRefresh(seen))
        {
            return seen;
        }
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Valid and either no refresh asked, or another caller refreshed while this one waited.
            if (_cached is not null && !NeedsRefresh(_cached) && (!refresh || !ReferenceEquals(_cached, seen)))
            {
                return _cached;
            }
            _cached = await AuthenticateAsync(ct).ConfigureAwait(false);
            return _cached;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>Refresh when less than 5 minutes of the token's life remain.</summary>
    private bool NeedsRefresh(AccessToken t)
    {
        var now = time.GetUtcNow();
        var margin = TimeSpan.FromMinutes(5);
        return now >= t.ExpiresAt - margin;
    }

    private async Task<AccessToken> AuthenticateAsync(CancellationToken ct)
    {
        var url = options.AuthUrl!.TrimEnd('/') + "/auth/tokens";
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.CallTimeout);
        HttpResponseMessage response;
        try
        {
            // A body with Content-Length, never chunked: Keystone and Nova under WSGI servers
            // (eventlet, mod_wsgi) read a chunked request body as empty (seen on Debian's Nova).
            using var content = new StringContent(Body().ToJsonString(), Encoding.UTF8, "application/json");
            response = await http.PostAsync(url, content, cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new ComputeException("keystone authentication", $"cannot reach Keystone at {url}: {ex.Message}", transient: true, inner: ex);
        }
        using (response)
        {
            var requestId = NovaTransport.RequestIdOf(response);
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                throw new ComputeException("keystone authentication", NovaErrors.MessageOf(text, status), status, requestId, transient: status >= 500);
            }
            var token = response.Headers.TryGetValues("X-Subject-Token", out var values) ? values.FirstOrDefault() : null;
            var body = JsonNode.Parse(text)?["token"];
            if (string.IsNullOrEmpty(token) || body is null)
            {
                throw new ComputeException("keystone authentication", "Keystone answered without X-Subject-Token or token body", (int)response.StatusCode, requestId);
            }
            // Judge expiry by this machine's clock: lifetime = expires_at - issued_at, both
            // Keystone's, counted from now (a skewed clock must not expire every token at once).
            var now = time.GetUtcNow();
            var lifetime = NovaJson.Time(body["expires_at"]) is { } expiresAt && NovaJson.Time(body["issued_at"]) is { } issuedAt && expiresAt > issuedAt
                ? expiresAt - issuedAt
                : TimeSpan.FromHours(1);
            var expires = now + lifetime;
            var compute = options.ComputeEndpoint is { Length: > 0 } fixedUrl
                ? FixedTokenSource.Endpoint(fixedUrl)
                : FindEndpoint(body["catalog"], "compute")
                  ?? throw new ComputeException("keystone authentication",
                      $"the token's catalog has no compute endpoint with interface '{options.Interface}'" + (string.IsNullOrEmpty(options.RegionName) ? "" : $" in region '{options.RegionName}'"));
            return new AccessToken(token, expires, compute, FindEndpoint(body["catalog"], "image"));
        }
    }

    private Uri? FindEndpoint(JsonNode? catalog, string type)
    {
        if (catalog is not JsonArray services)
        {
            return null;
        }
        foreach (var service in services)
        {
            if (NovaJson.Str(service?["type"]) != type || service?["endpoints"] is not JsonArray endpoints)
            {
                continue;
            }
            foreach (var e in endpoints)
            {
                var region = NovaJson.Str(e?["region_id"]) ?? NovaJson.Str(e?["region"]);
                if (NovaJson.Str(e?["interface"]) == options.Interface
                    && (string.IsNullOrEmpty(options.RegionName) || region == options.RegionName)
                    && NovaJson.Str(e?["url"]) is { Length: > 0 } url)
                {
                    return FixedTokenSource.Endpoint(url);
                }
            }
        }
        return null;
    }

    private JsonObject Body()
    {
        JsonObject identity;
        JsonObject auth;
        if (!string.IsNullOrEmpty(options.ApplicationCredentialId))
        {
            identity = new JsonObject
            {
                ["methods"] = new JsonArray("application_credential"),
                ["application_credential"] = new JsonObject { ["id"] = options.ApplicationCredentialId, ["secret"] = options.ApplicationCredentialSecret },
            };
            auth = new JsonObject { ["identity"] = identity };
        }
        else
        {
            identity = new JsonObject
            {
                ["methods"] = new JsonArray("password"),
                ["password"] = new JsonObject
                {
                    ["user"] = new JsonObject
                    {
                        ["name"] = options.Username,
                        ["domain"] = new JsonObject { ["name"] = options.UserDomainName },
                        ["password"] = options.Password,
                    },
                },
            };
            auth = new JsonObject
            {
                ["identity"] = identity,
                ["scope"] = new JsonObject
                {
                    ["project"] = new JsonObject { ["name"] = options.ProjectName, ["domain"] = new JsonObject { ["name"] = options.ProjectDomainName } },
                },
            };
        }
        return new JsonObject { ["auth"] = auth };
    }
}
