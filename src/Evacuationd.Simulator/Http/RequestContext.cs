using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Http;

namespace Evacuationd.Simulator.Http;

/// <summary>Per-request values set by <see cref="OpenStackMiddleware"/>.</summary>
internal static class RequestContext
{
    private const string RequestIdKey = "evacsim.request-id";
    private const string VersionKey = "evacsim.microversion";
    private const string TokenKey = "evacsim.token";

    public static string? RequestId(this HttpContext ctx) => ctx.Items[RequestIdKey] as string;

    public static void SetRequestId(this HttpContext ctx, string id) => ctx.Items[RequestIdKey] = id;

    public static ApiVersion Microversion(this HttpContext ctx) => ctx.Items[VersionKey] is ApiVersion v ? v : ApiVersion.Min;

    public static void SetMicroversion(this HttpContext ctx, ApiVersion v) => ctx.Items[VersionKey] = v;

    public static TokenInfo? Token(this HttpContext ctx) => ctx.Items[TokenKey] as TokenInfo;

    public static void SetToken(this HttpContext ctx, TokenInfo token) => ctx.Items[TokenKey] = token;

    /// <summary>http://host:port/ as the client addressed us (so the catalog works from any interface).</summary>
    public static string BaseUrl(this HttpContext ctx) =>
        $"{ctx.Request.Scheme}://{ctx.Request.Host.Value}{ctx.Request.PathBase.Value}/";

    /// <summary>BaseUrl + "compute/v2.1/".</summary>
    public static string ComputeBase(this HttpContext ctx) => ctx.BaseUrl() + "compute/v2.1/";
}
