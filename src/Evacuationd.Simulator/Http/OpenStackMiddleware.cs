using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Evacuationd.Simulator.Faults;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Simulator.Http;

/// <summary>
/// Applies to the OpenStack surfaces (/identity, /compute, /image): request ids
/// (x-openstack-request-id, plus x-compute-request-id for Nova), recorded in the model;
/// X-Auth-Token checking (keystonemiddleware's 401) and microversion negotiation for Nova;
/// the request-level injected faults (latency, 5xx, 5xx-after, timeout) wrap all of it.
/// </summary>
internal sealed partial class OpenStackMiddleware(
    RequestDelegate next,
    SimulatedCloud cloud,
    IHostApplicationLifetime lifetime,
    ILogger<OpenStackMiddleware> logger)
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

        var plan = cloud.FaultInjector.PlanRequest(ctx.Request.Method, path.Value ?? string.Empty);
        int? answered = null;
        using var concurrent = isCompute ? cloud.ComputeRequestStarted() : null;
        try
        {
            if (plan.IsEmpty)
            {
                await ServeAsync(ctx, requestId).ConfigureAwait(false);
            }
            else
            {
                answered = await ServeWithFaultsAsync(ctx, requestId, plan).ConfigureAwait(false);
            }
        }
        finally
        {
            cloud.RecordRequest(requestId, ctx.Request.Method, path.Value + ctx.Request.QueryString.Value, answered ?? ctx.Response.StatusCode, plan.Describe());
        }
    }

    /// <summary>Token / microversion checks, then the endpoint; an unexpected exception becomes Nova's 500.</summary>
    private async Task ServeAsync(HttpContext ctx, string requestId)
    {
        var path = ctx.Request.Path;
        var isCompute = path.StartsWithSegments("/compute", StringComparison.Ordinal);
        var isImage = path.StartsWithSegments("/image", StringComparison.Ordinal);
        try
        {
            var refusal = IsChunked(ctx.Request) ? ChunkedBody(isCompute)
                : isCompute && !IsVersionDocument(path.Value ?? string.Empty) ? CheckCompute(ctx)
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
            SetRequestIdHeaders(ctx, requestId);
            await Reply.Nova(StatusCodes.Status500InternalServerError, "Unexpected API Error. " + ex.GetType().Name)
                .ExecuteAsync(ctx).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A request body sent chunked (no Content-Length): Nova's eventlet server and Keystone under
    /// mod_wsgi read it as empty, so Nova answers 400 ("None is not of type 'object'") and
    /// Keystone 401 (seen on Debian's Nova). evacsim refuses it the same way rather than accept
    /// what the real services would not.
    /// </summary>
    private static bool IsChunked(HttpRequest request) =>
        request.ContentLength is null && request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);

    private static IResult ChunkedBody(bool isCompute) => isCompute
        ? Reply.Nova(StatusCodes.Status400BadRequest, "Invalid input for field/attribute body. Value: None. None is not of type 'object' (the request body was sent chunked, without Content-Length)")
        : Reply.Keystone(StatusCodes.Status401Unauthorized, "Unauthorized", "The request you have made requires authentication. (the request body was sent chunked, without Content-Length)");

    /// <summary>
    /// Applies the planned faults. Delays and hangs are <c>Task.Delay</c> on the model's <see cref="TimeProvider"/>
    /// (real time with the system clock, test-driven with a fake one) and end early when the client goes away or
    /// the simulator stops. Order: a latency before the operation, then a failure before it (5xx, timeout),
    /// else the operation with its answer buffered, then a latency after it, then a failure after it
    /// (5xx-after, timeout with after), else the buffered answer. Returns the status the client got when it
    /// differs from the response's (0: none).
    /// </summary>
    private async Task<int?> ServeWithFaultsAsync(HttpContext ctx, string requestId, RequestFaultPlan plan)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, lifetime.ApplicationStopping);
        var latency = plan.Latency;
        var failure = plan.Failure;
        if (latency is { After: false } && !await HoldAsync(ctx, latency.Ms ?? 0, stop.Token).ConfigureAwait(false))
        {
            return 0;
        }

        if (failure is { Kind: FaultKinds.ServerError })
        {
            await RecordEvacuateRefusedAsync(ctx, requestId, failure.Status, failure.Kind).ConfigureAwait(false);
            await InjectedError(ctx, failure).ExecuteAsync(ctx).ConfigureAwait(false);
            return null;
        }

        if (failure is { Kind: FaultKinds.Timeout, After: false })
        {
            await RecordEvacuateRefusedAsync(ctx, requestId, 0, failure.Kind).ConfigureAwait(false);
            await HangAsync(ctx, failure.Ms, stop.Token).ConfigureAwait(false);
            return 0;
        }

        if (latency is not { After: true } && failure is null)
        {
            await ServeAsync(ctx, requestId).ConfigureAwait(false);
            return null;
        }

        // The operation runs now; its answer is held back in memory.
        var original = ctx.Response.Body;
        using var buffer = new MemoryStream();
        ctx.Response.Body = buffer;
        try
        {
            await ServeAsync(ctx, requestId).ConfigureAwait(false);
            await ctx.Response.BodyWriter.FlushAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            ctx.Response.Body = original;
        }

        if (latency is { After: true } && !await HoldAsync(ctx, latency.Ms ?? 0, stop.Token).ConfigureAwait(false))
        {
            cloud.MarkEvacuateAnswer(requestId, 0, latency.Kind);
            return 0;
        }

        switch (failure)
        {
            case { Kind: FaultKinds.ServerErrorAfter }:
                cloud.MarkEvacuateAnswer(requestId, failure.Status, failure.Kind);
                ctx.Response.Clear();
                SetRequestIdHeaders(ctx, requestId);
                await InjectedError(ctx, failure).ExecuteAsync(ctx).ConfigureAwait(false);
                return null;
            case { Kind: FaultKinds.Timeout }:
                cloud.MarkEvacuateAnswer(requestId, 0, failure.Kind);
                await HangAsync(ctx, failure.Ms, stop.Token).ConfigureAwait(false);
                return 0;
            default:
                buffer.Position = 0;
                await buffer.CopyToAsync(original, stop.Token).ConfigureAwait(false);
                return null;
        }
    }

    /// <summary>Waits <paramref name="ms"/> on the model's clock. When the client or the simulator goes away
    /// first, the connection is dropped (never a half answer) and the result is false.</summary>
    private async Task<bool> HoldAsync(HttpContext ctx, int ms, CancellationToken stop)
    {
        var delay = Task.Delay(TimeSpan.FromMilliseconds(ms), cloud.Time, stop);
        cloud.FaultInjector.NoteHold();
        try
        {
            await delay.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            ctx.Abort();
            return false;
        }
    }

    /// <summary>Never answers: waits until the client gives up, or <paramref name="ms"/> on the model's clock,
    /// and then closes the connection without an answer.</summary>
    private async Task HangAsync(HttpContext ctx, int? ms, CancellationToken stop)
    {
        if (await HoldAsync(ctx, ms ?? Timeout.Infinite, stop).ConfigureAwait(false))
        {
            ctx.Abort();
        }
    }

    /// <summary>An evacuate refused by an injected fault before the model saw it is still recorded (not accepted).</summary>
    private async Task RecordEvacuateRefusedAsync(HttpContext ctx, string requestId, int status, string fault)
    {
        if (!HttpMethods.IsPost(ctx.Request.Method) || ActionPath().Match(ctx.Request.Path.Value ?? string.Empty) is not { Success: true } m)
        {
            return;
        }

        try
        {
            var node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
            if (node is JsonObject { Count: > 0 } body && body.First().Key == "evacuate")
            {
                cloud.RecordFaultedEvacuate(m.Groups[1].Value, status, requestId, fault);
            }
        }
        catch (JsonException)
        {
            // not an evacuate we can read: nothing to record
        }
    }

    /// <summary>The 5xx of an injected fault: Keystone's error shape under /identity, Nova's elsewhere.</summary>
    private static IResult InjectedError(HttpContext ctx, FaultSpec fault)
    {
        var status = fault.Status;
        var message = status == StatusCodes.Status500InternalServerError
            ? $"Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible. (evacsim injected fault {fault.Kind})"
            : $"The server is currently unavailable. Please try again at a later time. (evacsim injected fault {fault.Kind})";
        return ctx.Request.Path.StartsWithSegments("/identity", StringComparison.Ordinal)
            ? Reply.Keystone(status, status == StatusCodes.Status500InternalServerError ? "Internal Server Error" : "Service Unavailable", message)
            : Reply.Nova(status, message);
    }

    private static void SetRequestIdHeaders(HttpContext ctx, string requestId)
    {
        ctx.Response.Headers["x-openstack-request-id"] = requestId;
        if (ctx.Request.Path.StartsWithSegments("/compute", StringComparison.Ordinal))
        {
            ctx.Response.Headers["x-compute-request-id"] = requestId;
        }
    }

    [GeneratedRegex("^/compute/v2\\.1/servers/([^/]+)/action/?$", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPath();

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
