using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Http;

namespace Evacuationd.Simulator.Http;

/// <summary>Response helpers (JSON written as built, so the shapes are exactly OpenStack's).</summary>
internal static class Reply
{
    private static readonly JsonSerializerOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IResult Json(JsonNode node, int status = StatusCodes.Status200OK) =>
        Results.Text(node.ToJsonString(Plain), "application/json", statusCode: status);

    /// <summary>Nova's error body: {"badRequest": {"code": 400, "message": "..."}}.</summary>
    public static IResult Nova(SimError error) => Nova(error.Status, error.Message);

    public static IResult Nova(int status, string message) => Json(
        new JsonObject { [NovaKey(status)] = new JsonObject { ["code"] = status, ["message"] = message } },
        status);

    public static IResult NovaBadRequest(string message) => Nova(StatusCodes.Status400BadRequest, message);

    /// <summary>Keystone's (and keystonemiddleware's) error body.</summary>
    public static IResult Keystone(int status, string title, string message) => Json(
        new JsonObject { ["error"] = new JsonObject { ["code"] = status, ["message"] = message, ["title"] = title } },
        status);

    public static IResult Unauthorized() =>
        Keystone(StatusCodes.Status401Unauthorized, "Unauthorized", "The request you have made requires authentication.");

    public static string NovaKey(int status) => status switch
    {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        415 => "badMediaType",
        429 => "overLimit",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    };
}
