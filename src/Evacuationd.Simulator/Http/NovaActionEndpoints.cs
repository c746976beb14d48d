using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Http;

namespace Evacuationd.Simulator.Http;

/// <summary>POST /servers/{id}/action: evacuate, lock, unlock, os-resetState.</summary>
internal static class NovaActionEndpoints
{
    private static readonly ApiVersion NoSharedStorage = new(2, 14);
    private static readonly ApiVersion ForceAdded = new(2, 29);
    private static readonly ApiVersion ForceRemoved = new(2, 68);
    private static readonly ApiVersion LockedReason = new(2, 73);

    public static async Task<IResult> ActionAsync(HttpContext ctx, SimulatedCloud cloud, string id)
    {
        var (body, error) = await RequestBody.ReadObjectAsync(ctx).ConfigureAwait(false);
        if (body is null || body.Count == 0)
        {
            return error ?? Reply.NovaBadRequest("Malformed request body");
        }

        var (action, argument) = body.First();
        return action switch
        {
            "evacuate" => Evacuate(ctx, cloud, id, argument),
            "lock" => Lock(ctx, cloud, id, argument),
            "unlock" => Accepted(cloud.Unlock(id)),
            "os-resetState" => ResetState(cloud, id, argument),
            _ => Reply.NovaBadRequest($"There is no such action: {action}"),
        };
    }

    private static IResult Evacuate(HttpContext ctx, SimulatedCloud cloud, string id, JsonNode? argument)
    {
        var v = ctx.Microversion();
        var invalid = ValidateEvacuate(v, argument, out var host);
        if (invalid is not null)
        {
            cloud.RecordRejectedEvacuate(id, StatusCodes.Status400BadRequest, ctx.RequestId());
            return Reply.NovaBadRequest(invalid);
        }

        var outcome = cloud.Evacuate(id, host, ctx.RequestId());
        if (!outcome.Ok)
        {
            return Reply.Nova(outcome.Error!);
        }

        // 2.14+: 200 with an empty body; before, the generated admin password.
        return v >= NoSharedStorage
            ? Results.StatusCode(StatusCodes.Status200OK)
            : Reply.Json(new JsonObject { ["adminPass"] = NovaServerEndpoints.AdminPass(id + outcome.Value) });
    }

    /// <summary>Nova's JSON schema for evacuate at the given microversion; returns the 400 message or null.</summary>
    private static string? ValidateEvacuate(ApiVersion v, JsonNode? argument, out string? host)
    {
        host = null;
        if (argument is not JsonObject args)
        {
            return RequestBody.NotOfType("evacuate", argument, "object");
        }

        foreach (var (key, node) in args)
        {
            var allowed = key switch
            {
                "host" or "adminPass" => true,
                "onSharedStorage" => v < NoSharedStorage,
                "force" => v >= ForceAdded && v < ForceRemoved,
                _ => false,
            };
            if (!allowed)
            {
                return $"Additional properties are not allowed ('{key}' was unexpected)";
            }

            switch (key)
            {
                case "host":
                    if (!RequestBody.TryString(node, out var h) || h.Length == 0 || h.Length > 255)
                    {
                        return RequestBody.NotOfType("host", node, "string");
                    }

                    host = h;
                    break;
                case "adminPass" when !RequestBody.TryString(node, out _):
                    return RequestBody.NotOfType("adminPass", node, "string");
                case "onSharedStorage" or "force" when !RequestBody.TryBool(node, out _):
                    return RequestBody.NotOfType(key, node, "boolean");
            }
        }

        if (v < NoSharedStorage && !args.ContainsKey("onSharedStorage"))
        {
            return "Invalid input for field/attribute evacuate. Value: " + args.ToJsonString() + ". 'onSharedStorage' is a required property";
        }

        return null;
    }

    private static IResult Lock(HttpContext ctx, SimulatedCloud cloud, string id, JsonNode? argument)
    {
        string? reason = null;
        if (ctx.Microversion() < LockedReason && argument is not null)
        {
            // Before 2.73 Nova's schema for lock is null: a reason is refused.
            return Reply.NovaBadRequest(RequestBody.NotOfType("lock", argument, "null"));
        }
        if (ctx.Microversion() >= LockedReason && argument is not null)
        {
            if (argument is not JsonObject args)
            {
                return Reply.NovaBadRequest(RequestBody.NotOfType("lock", argument, "object"));
            }

            foreach (var (key, node) in args)
            {
                if (key != "locked_reason")
                {
                    return Reply.NovaBadRequest($"Additional properties are not allowed ('{key}' was unexpected)");
                }

                if (!RequestBody.TryString(node, out var r) || r.Length > 255)
                {
                    return Reply.NovaBadRequest(RequestBody.NotOfType("locked_reason", node, "string"));
                }

                reason = r;
            }
        }

        return Accepted(cloud.Lock(id, reason));
    }

    private static IResult ResetState(SimulatedCloud cloud, string id, JsonNode? argument)
    {
        if (argument is not JsonObject args || !RequestBody.TryString(args["state"], out var state))
        {
            return Reply.NovaBadRequest("Invalid input for field/attribute os-resetState. 'state' is a required property");
        }

        return Accepted(cloud.ResetState(id, state));
    }

    private static IResult Accepted(SimError? error) =>
        error is null ? Results.StatusCode(StatusCodes.Status202Accepted) : Reply.Nova(error);
}
