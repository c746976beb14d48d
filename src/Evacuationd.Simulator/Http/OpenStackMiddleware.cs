using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Simulator.Http;

/// <summary>
/// Applies to the OpenStack surfaces (/identity, /compute, /image): request ids
/// (x-openstack-request-id, plus x-compute-request-id for Nova), recorded in the model;
/// X-Auth-Token checking (keystonemiddleware's 401) and microversion negotiation for Nova.
/// </summary>
internal sealed partial class OpenStackMiddleware(RequestDelegate next, SimulatedCloud cloud, ILogger<OpenStackMiddleware> logger)
{
    private const string VersionHeader = "OpenStack-API-Version";
    private const string LegacyVersionHeader = "X-OpenStack-Nova-API-Version";

    private readonly ApiVersion _max = ApiVersion.Parse(cloud.MaxMicroversion);

    public async Task InvokeAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path;
        var isCompute = path.StartsWithSegments("/compute", StringComparison.Ordinal);
        var isImage = path.StartsWithSegments("/image", StringComparison.Ordinal);
        var isIdentity = path.StartsWithSegments("/identity", StringComparison.Ordinal);
        if (!isCompute && !isImage && !isIdentity)
        {
            await next(ctx).ConfigureAwait(false);
            return;
        }

        var requestId = "req-" + Guid.NewGuid().ToString("D");
        ctx.SetRequestId(requestId);
        ctx.Response.Headers["x-openstack-request-id"] = requestId;
        if (isCompute)
        {
            ctx.Response.Headers["x-compute-request-id"] = requestId;
        }

        try
        {
            var refusal = isCompute && !IsVersionDocument(path.Value ?? string.Empty) ? CheckCompute(ctx)
                : isImage && !IsImageVersionDocument(path.Value ?? string.Empty) ? CheckToken(ctx, needProject: false)
                : null;
            if (refusal is not null)
            {
                await refusal.ExecuteAsync(ctx).ConfigureAwait(false);
            }
            else
            {
                await next(ctx).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!ctx.Response.HasStarted && ex is not OperationCanceledException)
        {
            LogUnexpected(logger, ex, ctx.Request.Method, path.Value ?? string.Empty);
            ctx.Response.Clear();
            ctx.Response.Headers["x-openstack-request-id"] = requestId;
            await Reply.Nova(StatusCodes.Status500InternalServerError, "Unexpected API Error. " + ex.GetType().Name)
                .ExecuteAsync(ctx).ConfigureAwait(false);
        }
        finally
        {
            cloud.RecordRequest(requestId, ctx.Request.Method, path.Value + ctx.Request.QueryString.Value, ctx.Response.StatusCode);
        }
    }

    private static bool IsVersionDocument(string path) =>
        path is "/compute" or "/compute/" or "/compute/v2.1" or "/compute/v2.1/" or "/compute/v2" or "/compute/v2/";

    private static bool IsImageVersionDocument(string path) => path is "/image" or "/image/" or "/image/versions";

    private IResult? CheckCompute(HttpContext ctx)
    {
        if (CheckToken(ctx, needProject: true) is { } unauthorized)
        {
            return unauthorized;
        }

        string? requested = null;
        var header = ctx.Request.Headers[VersionHeader].ToString();
        if (!string.IsNullOrEmpty(header))
        {
            foreach (var item in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = item.Split(' ', 2, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0].Equals("compute", StringComparison.OrdinalIgnoreCase))
                {
                    requested = parts[1];
                }
            }
        }

        if (requested is null)
        {
            var legacy = ctx.Request.Headers[LegacyVersionHeader].ToString();
            if (!string.IsNullOrEmpty(legacy))
            {
                requested = legacy.Trim();
            }
        }

        ApiVersion version;
        if (requested is null)
        {
            version = ApiVersion.Min;
        }
        else if (requested.Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            version = _max;
        }
        else if (!ApiVersion.TryParse(requested, out version))
        {
            return Reply.NovaBadRequest($"API Version String {requested} is of invalid format. Must be of format MajorNum.MinorNum.");
        }
        else if (version < ApiVersion.Min || version > _max)
        {
            return Reply.Nova(StatusCodes.Status406NotAcceptable,
                $"Version {requested} is not supported by the API. Minimum is {ApiVersion.Min} and maximum is {_max}.");
        }

        ctx.SetMicroversion(version);
        ctx.Response.Headers[VersionHeader] = "compute " + version;
        ctx.Response.Headers[LegacyVersionHeader] = version.ToString();
        ctx.Response.Headers.Vary = VersionHeader + ", " + LegacyVersionHeader;
        return null;
    }

    private IResult? CheckToken(HttpContext ctx, bool needProject)
    {
        var token = cloud.ValidateToken(ctx.Request.Headers["X-Auth-Token"].ToString());
        if (token is null || (needProject && token.ProjectId is null))
        {
            ctx.Response.Headers.WWWAuthenticate = $"Keystone uri=\"{ctx.BaseUrl()}identity\"";
            return Reply.Unauthorized();
        }

        ctx.SetToken(token);
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "evacsim: unexpected error answering {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string method, string path);
}
