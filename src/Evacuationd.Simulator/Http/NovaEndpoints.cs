using System.Globalization;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Evacuationd.Simulator.Http;

/// <summary>Nova under /compute: version documents, os-services, os-migrations, os-hypervisors, flavors.
/// Servers are in <see cref="NovaServerEndpoints"/>.</summary>
internal static class NovaEndpoints
{
    private static readonly ApiVersion ServiceUuids = new(2, 53);
    private static readonly ApiVersion ChangesSince = new(2, 59);

    public static void Map(IEndpointRouteBuilder app)
    {
        // Routing ignores a trailing slash: these also answer /compute/ and /compute/v2.1/.
        app.MapGet("/compute", Versions);
        app.MapGet("/compute/v2.1", Version);
        app.MapGet("/compute/v2.1/os-services", ListServices);
        app.MapPut("/compute/v2.1/os-services/{id}", UpdateServiceAsync);
        app.MapGet("/compute/v2.1/os-migrations", ListMigrations);
        app.MapGet("/compute/v2.1/os-hypervisors", (HttpContext ctx, SimulatedCloud cloud) => Hypervisors(ctx, cloud, false));
        app.MapGet("/compute/v2.1/os-hypervisors/detail", (HttpContext ctx, SimulatedCloud cloud) => Hypervisors(ctx, cloud, true));
        app.MapGet("/compute/v2.1/flavors", (HttpContext ctx) => Flavors(ctx, false));
        app.MapGet("/compute/v2.1/flavors/detail", (HttpContext ctx) => Flavors(ctx, true));
        app.MapGet("/compute/v2.1/flavors/{id}", Flavor);
        NovaServerEndpoints.Map(app);
        app.Map("/compute/{**rest}", () => Reply.Nova(StatusCodes.Status404NotFound, "The resource could not be found."));
    }

    private static IResult Versions(HttpContext ctx, SimulatedCloud cloud) => Reply.Json(new JsonObject
    {
        ["versions"] = new JsonArray(NovaJson.V20(ctx.BaseUrl()), NovaJson.V21(ctx.BaseUrl(), cloud.MaxMicroversion)),
    });

    private static IResult Version(HttpContext ctx, SimulatedCloud cloud) =>
        Reply.Json(new JsonObject { ["version"] = NovaJson.V21(ctx.BaseUrl(), cloud.MaxMicroversion) });

    private static IResult ListServices(HttpContext ctx, SimulatedCloud cloud)
    {
        var q = ctx.Request.Query;
        var services = cloud.ListServices(NullIfEmpty(q["binary"]), NullIfEmpty(q["host"]));
        var v = ctx.Microversion();
        return Reply.Json(new JsonObject
        {
            ["services"] = new JsonArray(services.Select(s => (JsonNode?)NovaJson.Service(s, v)).ToArray()),
        });
    }

    private static async Task<IResult> UpdateServiceAsync(HttpContext ctx, SimulatedCloud cloud, string id)
    {
        var v = ctx.Microversion();
        if (v < ServiceUuids)
        {
            // Before 2.53 the resource is os-services/{enable,disable,force-down,...} addressed by host.
            return Reply.Nova(StatusCodes.Status404NotFound, "Unknown action");
        }

        var (body, error) = await RequestBody.ReadObjectAsync(ctx).ConfigureAwait(false);
        if (body is null)
        {
            return error!;
        }

        bool? forcedDown = null;
        string? status = null;
        string? reason = null;
        foreach (var (key, node) in body)
        {
            switch (key)
            {
                case "forced_down":
                    if (!RequestBody.TryBool(node, out var fd))
                    {
                        return Reply.NovaBadRequest(RequestBody.NotOfType("forced_down", node, "boolean"));
                    }

                    forcedDown = fd;
                    break;
                case "status":
                    if (!RequestBody.TryString(node, out var st))
                    {
                        return Reply.NovaBadRequest(RequestBody.NotOfType("status", node, "string"));
                    }

                    status = st;
                    break;
                case "disabled_reason":
                    if (!RequestBody.TryString(node, out var r) || r.Length > 255)
                    {
                        return Reply.NovaBadRequest(RequestBody.NotOfType("disabled_reason", node, "string"));
                    }

                    reason = r;
                    break;
                default:
                    return Reply.NovaBadRequest($"Additional properties are not allowed ('{key}' was unexpected)");
            }
        }

        if (!Guid.TryParse(id, out _))
        {
            return Reply.NovaBadRequest($"Invalid uuid {id}");
        }

        var outcome = cloud.UpdateService(id, forcedDown, status, reason);
        return outcome.Ok
            ? Reply.Json(new JsonObject { ["service"] = NovaJson.Service(outcome.Value!, v) })
            : Reply.Nova(outcome.Error!);
    }

    /// <summary>
    /// Nova's <c>changes-since</c> query parameter (an ISO 8601 time, UTC when it names no zone):
    /// absent gives null; a value that is no date-time gives Nova's 400.
    /// </summary>
    internal static bool TryChangesSince(IQueryCollection q, out DateTimeOffset? since, out IResult? invalid)
    {
        since = null;
        invalid = null;
        if (NullIfEmpty(q["changes-since"]) is not { } text)
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            invalid = Reply.NovaBadRequest($"Invalid input for query parameters changes-since. Value: {text}. '{text}' is not a 'date-time'");
            return false;
        }

        since = parsed;
        return true;
    }

    private static IResult ListMigrations(HttpContext ctx, SimulatedCloud cloud)
    {
        var q = ctx.Request.Query;
        var v = ctx.Microversion();
        DateTimeOffset? since = null;
        if (v >= ChangesSince && !TryChangesSince(q, out since, out var invalid))
        {
            return invalid!;
        }

        var filter = new MigrationFilter(
            InstanceUuid: NullIfEmpty(q["instance_uuid"]),
            MigrationType: NullIfEmpty(q["migration_type"]),
            Host: NullIfEmpty(q["host"]),
            Status: NullIfEmpty(q["status"]),
            SourceCompute: NullIfEmpty(q["source_compute"]),
            ChangesSince: since);
        var region = cloud.Options.Region;
        return Reply.Json(new JsonObject
        {
            ["migrations"] = new JsonArray(cloud.ListMigrations(filter).Select(m => (JsonNode?)NovaJson.Migration(m, v, region)).ToArray()),
        });
    }

    private static IResult Hypervisors(HttpContext ctx, SimulatedCloud cloud, bool detail)
    {
        var v = ctx.Microversion();
        var services = cloud.ListServices("nova-compute").ToDictionary(s => s.Host, StringComparer.Ordinal);
        var list = new JsonArray();
        foreach (var h in cloud.GetHosts())
        {
            var full = NovaJson.Hypervisor(h, services[h.Name], v);
            list.Add(detail ? full : new JsonObject
            {
                ["id"] = full["id"]!.DeepClone(),
                ["hypervisor_hostname"] = h.Name,
                ["state"] = full["state"]!.DeepClone(),
                ["status"] = full["status"]!.DeepClone(),
            });
        }

        return Reply.Json(new JsonObject { ["hypervisors"] = list });
    }

    private static IResult Flavors(HttpContext ctx, bool detail) => Reply.Json(new JsonObject
    {
        ["flavors"] = new JsonArray(NovaJson.Flavor(ctx.Microversion(), ctx.BaseUrl(), detail)),
    });

    private static IResult Flavor(HttpContext ctx, string id) => id == SimulatedCloud.DefaultFlavorId
        ? Reply.Json(new JsonObject { ["flavor"] = NovaJson.Flavor(ctx.Microversion(), ctx.BaseUrl(), true) })
        : Reply.Nova(StatusCodes.Status404NotFound, $"Flavor {id} could not be found.");

    internal static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
