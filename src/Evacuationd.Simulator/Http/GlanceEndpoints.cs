using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Evacuationd.Simulator.Http;

/// <summary>A sliver of Glance v2 under /image: show and list images (custom properties at top level).</summary>
internal static class GlanceEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/image/v2/images", (HttpContext ctx, SimulatedCloud cloud) => Reply.Json(new JsonObject
        {
            ["images"] = new JsonArray(cloud.ListImages().Select(i => (JsonNode?)Image(i, cloud)).ToArray()),
            ["first"] = "/v2/images",
            ["schema"] = "/v2/schemas/images",
        }));
        app.MapGet("/image/v2/images/{id}", (SimulatedCloud cloud, string id) => cloud.GetImage(id) is { } image
            ? Reply.Json(Image(image, cloud))
            : Results.Text($"404 Not Found\n\nNo image found with ID {id}\n\n", "text/plain", statusCode: StatusCodes.Status404NotFound));
    }

    private static JsonObject Image(ImageSnapshot i, SimulatedCloud cloud)
    {
        var o = new JsonObject
        {
            ["id"] = i.Id,
            ["name"] = i.Name,
            ["status"] = "active",
            ["visibility"] = "public",
            ["protected"] = false,
            ["os_hidden"] = false,
            ["container_format"] = "bare",
            ["disk_format"] = "qcow2",
            ["min_disk"] = 0,
            ["min_ram"] = 0,
            ["size"] = 21430272,
            ["virtual_size"] = 117440512,
            ["checksum"] = "c8fc807773e5354afe61636071771906",
            ["owner"] = cloud.AdminProjectId,
            ["tags"] = new JsonArray(),
            ["created_at"] = NovaTime.Iso(i.CreatedAt),
            ["updated_at"] = NovaTime.Iso(i.CreatedAt),
            ["self"] = "/v2/images/" + i.Id,
            ["file"] = "/v2/images/" + i.Id + "/file",
            ["schema"] = "/v2/schemas/image",
        };
        foreach (var (k, v) in i.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = v;
        }

        return o;
    }
}
