using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Evacuationd.Simulator.Http;

/// <summary>Control and observation endpoints (no auth) under /_sim.</summary>
internal static class ControlEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_sim/stats", (SimulatedCloud cloud) => Results.Json(cloud.GetStats(), Json));
        app.MapGet("/_sim/hosts", (SimulatedCloud cloud) => Results.Json(cloud.GetHosts(), Json));
        app.MapGet("/_sim/hosts/{host}", (SimulatedCloud cloud, string host) =>
            cloud.GetHost(host) is { } h ? Results.Json(h, Json) : NotFound(host));
        app.MapPost("/_sim/hosts/{host}/power-off", (SimulatedCloud cloud, string host) => Power(host, cloud.PowerOff));
        app.MapPost("/_sim/hosts/{host}/power-on", (SimulatedCloud cloud, string host) => Power(host, cloud.PowerOn));
        app.MapGet("/_sim/instances", (SimulatedCloud cloud) => Results.Json(
            cloud.ListInstances().Select(i => new { uuid = i.Id, name = i.Name, host = i.Host, vm_state = i.VmState, task_state = i.TaskState, status = i.Status }),
            Json));
        app.MapGet("/_sim/migrations", (SimulatedCloud cloud) => Results.Json(cloud.ListMigrations(), Json));
        app.MapGet("/_sim/evacuate-calls", (SimulatedCloud cloud) => Results.Json(cloud.GetEvacuateCalls(), Json));
        app.MapGet("/_sim/requests", (SimulatedCloud cloud) => Results.Json(cloud.GetRequestLog(), Json));
        app.MapGet("/_sim/faults", (SimulatedCloud cloud) => Reply.Json(FaultJson.Settings(cloud.GetFaults())));
        app.MapPut("/_sim/faults", PutFaultsAsync);
        app.MapDelete("/_sim/faults", (SimulatedCloud cloud) => Reply.Json(FaultJson.Settings(cloud.ClearFaults())));
    }

    /// <summary>PUT /_sim/faults: replaces the whole fault set (and reseeds when a seed is given); 400 changes nothing.</summary>
    private static async Task<IResult> PutFaultsAsync(HttpContext ctx, SimulatedCloud cloud)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return BadRequest("the body is not JSON: " + ex.Message);
        }

        var (faults, seed, error) = FaultJson.Read(body);
        if (faults is null)
        {
            return BadRequest(error!);
        }

        return Reply.Json(FaultJson.Settings(cloud.SetFaults(faults, seed)));
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new { error = message }, Json, statusCode: StatusCodes.Status400BadRequest);

    private static IResult Power(string host, Func<string, HostSnapshot> action)
    {
        try
        {
            return Results.Json(action(host), Json);
        }
        catch (KeyNotFoundException)
        {
            return NotFound(host);
        }
    }

    private static IResult NotFound(string host) =>
        Results.Json(new { error = $"unknown host {host}" }, Json, statusCode: StatusCodes.Status404NotFound);
}
