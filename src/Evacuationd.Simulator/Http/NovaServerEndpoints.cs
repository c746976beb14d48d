using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Evacuationd.Simulator.Http;

/// <summary>Nova /servers: list (paged), show, boot, delete. Actions are in <see cref="NovaActionEndpoints"/>.</summary>
internal static class NovaServerEndpoints
{
    /// <summary>Nova's osapi_max_limit.</summary>
    private const int MaxLimit = 1000;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/compute/v2.1/servers", (HttpContext ctx, SimulatedCloud cloud) => List(ctx, cloud, false));
        app.MapGet("/compute/v2.1/servers/detail", (HttpContext ctx, SimulatedCloud cloud) => List(ctx, cloud, true));
        app.MapGet("/compute/v2.1/servers/{id}", Show);
        app.MapPost("/compute/v2.1/servers", BootAsync);
        app.MapDelete("/compute/v2.1/servers/{id}", Delete);
        app.MapPost("/compute/v2.1/servers/{id}/action", NovaActionEndpoints.ActionAsync);
    }

    private static IResult List(HttpContext ctx, SimulatedCloud cloud, bool detail)
    {
        var q = ctx.Request.Query;
        var limit = MaxLimit;
        if (q.TryGetValue("limit", out var limitText))
        {
            if (!int.TryParse(limitText.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out limit))
            {
                return Reply.NovaBadRequest("limit param must be an integer");
            }

            if (limit < 0)
            {
                return Reply.NovaBadRequest("limit param must be positive");
            }

            limit = Math.Min(limit, MaxLimit);
        }

        var allTenants = false;
        if (q.TryGetValue("all_tenants", out var allText))
        {
            if (RequestBody.Flag(allText.ToString()) is not { } flag)
            {
                return Reply.NovaBadRequest($"Unrecognized value '{allText}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'");
            }

            allTenants = flag;
        }

        var project = allTenants
            ? NovaEndpoints.NullIfEmpty(q["project_id"]) ?? NovaEndpoints.NullIfEmpty(q["tenant_id"])
            : ctx.Token()!.ProjectId;
        if (!NovaEndpoints.TryChangesSince(q, out var since, out var invalid))
        {
            return invalid!;
        }

        var filter = new ServerFilter(
            Host: NovaEndpoints.NullIfEmpty(q["host"]),
            ProjectId: project,
            Status: NovaEndpoints.NullIfEmpty(q["status"]),
            Name: NovaEndpoints.NullIfEmpty(q["name"]),
            ChangesSince: since);
        var outcome = cloud.ListServers(filter, limit, NovaEndpoints.NullIfEmpty(q["marker"]));
        if (!outcome.Ok)
        {
            return Reply.Nova(outcome.Error!);
        }

        var (page, more) = outcome.Value;
        var v = ctx.Microversion();
        var baseUrl = ctx.BaseUrl();
        var servers = new JsonArray(page.Select(s => (JsonNode?)(detail ? NovaJson.Server(s, v, baseUrl) : Brief(s, baseUrl))).ToArray());
        var result = new JsonObject { ["servers"] = servers };
        if (more)
        {
            result["servers_links"] = new JsonArray(new JsonObject
            {
                ["rel"] = "next",
                ["href"] = NextLink(ctx, detail ? "servers/detail" : "servers", page[^1].Id),
            });
        }

        return Reply.Json(result);
    }

    private static JsonObject Brief(InstanceSnapshot s, string baseUrl) => new()
    {
        ["id"] = s.Id,
        ["name"] = s.Name,
        ["links"] = new JsonArray(
            new JsonObject { ["rel"] = "self", ["href"] = baseUrl + "compute/v2.1/servers/" + s.Id },
            new JsonObject { ["rel"] = "bookmark", ["href"] = baseUrl + "compute/servers/" + s.Id }),
    };

    /// <summary>The same query with marker set to the last id (Nova's _get_next_link).</summary>
    private static string NextLink(HttpContext ctx, string resource, string lastId)
    {
        var sb = new StringBuilder(ctx.ComputeBase()).Append(resource).Append('?');
        var first = true;
        foreach (var (key, values) in ctx.Request.Query)
        {
            if (key == "marker")
            {
                continue;
            }

            foreach (var value in values)
            {
                sb.Append(first ? string.Empty : "&").Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty));
                first = false;
            }
        }

        sb.Append(first ? string.Empty : "&").Append("marker=").Append(Uri.EscapeDataString(lastId));
        return sb.ToString();
    }

    private static IResult Show(HttpContext ctx, SimulatedCloud cloud, string id) =>
        cloud.GetInstance(id) is { } s
            ? Reply.Json(new JsonObject { ["server"] = NovaJson.Server(s, ctx.Microversion(), ctx.BaseUrl()) })
            : Reply.Nova(StatusCodes.Status404NotFound, $"Instance {id} could not be found.");

    private static IResult Delete(SimulatedCloud cloud, string id) =>
        cloud.Delete(id) is { } error ? Reply.Nova(error) : Results.StatusCode(StatusCodes.Status204NoContent);

    private static async Task<IResult> BootAsync(HttpContext ctx, SimulatedCloud cloud)
    {
        var (body, error) = await RequestBody.ReadObjectAsync(ctx).ConfigureAwait(false);
        if (body is null)
        {
            return error!;
        }

        if (body["server"] is not JsonObject server)
        {
            return Reply.NovaBadRequest("Invalid input for field/attribute server. 'server' is a required property");
        }

        if (!RequestBody.TryString(server["name"], out var name) || name.Length == 0)
        {
            return Reply.NovaBadRequest("Invalid input for field/attribute name. 'name' is a required property");
        }

        if (!RequestBody.TryString(server["flavorRef"], out var flavorRef) || flavorRef.Length == 0)
        {
            return Reply.NovaBadRequest("Invalid input for field/attribute flavorRef. 'flavorRef' is a required property");
        }

        RequestBody.TryString(server["imageRef"], out var imageRef);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (server["metadata"] is JsonObject md)
        {
            foreach (var (k, node) in md)
            {
                if (!RequestBody.TryString(node, out var val))
                {
                    return Reply.NovaBadRequest(RequestBody.NotOfType("metadata/" + k, node, "string"));
                }

                metadata[k] = val;
            }
        }

        var tags = new List<string>();
        if (server["tags"] is JsonArray tagArray)
        {
            tags.AddRange(tagArray.Select(t => RequestBody.TryString(t, out var tag) ? tag : string.Empty).Where(t => t.Length > 0));
        }

        string? host = null;
        if (RequestBody.TryString(server["availability_zone"], out var az))
        {
            var parts = az.Split(':');
            if (parts.Length >= 2 && parts[1].Length > 0)
            {
                host = parts[1];
            }
        }

        var token = ctx.Token()!;
        var outcome = cloud.Boot(new BootRequest(
            name,
            LastSegment(imageRef),
            LastSegment(flavorRef),
            token.ProjectId!,
            token.UserId,
            metadata,
            tags,
            host));
        if (!outcome.Ok)
        {
            return Reply.Nova(outcome.Error!);
        }

        var s = outcome.Value!;
        var baseUrl = ctx.BaseUrl();
        var self = baseUrl + "compute/v2.1/servers/" + s.Id;
        ctx.Response.Headers.Location = self;
        return Reply.Json(
            new JsonObject
            {
                ["server"] = new JsonObject
                {
                    ["id"] = s.Id,
                    ["links"] = new JsonArray(
                        new JsonObject { ["rel"] = "self", ["href"] = self },
                        new JsonObject { ["rel"] = "bookmark", ["href"] = baseUrl + "compute/servers/" + s.Id }),
                    ["OS-DCF:diskConfig"] = "MANUAL",
                    ["security_groups"] = new JsonArray(new JsonObject { ["name"] = "default" }),
                    ["adminPass"] = AdminPass(s.Id),
                },
            },
            StatusCodes.Status202Accepted);
    }

    private static string LastSegment(string reference)
    {
        var trimmed = reference.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash >= 0 ? trimmed[(slash + 1)..] : trimmed;
    }

    internal static string AdminPass(string seed) =>
        Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(seed)))[..12]
            .Replace('+', 'x').Replace('/', 'y');
}
