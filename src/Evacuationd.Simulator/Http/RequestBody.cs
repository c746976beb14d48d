using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Evacuationd.Simulator.Http;

/// <summary>Reading JSON bodies and query values the way Nova validates them.</summary>
internal static class RequestBody
{
    /// <summary>The body as a JSON object, or null (then <paramref name="error"/> is Nova's 400).</summary>
    public static async Task<(JsonObject? Body, IResult? Error)> ReadObjectAsync(HttpContext ctx)
    {
        try
        {
            var node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
            return node is JsonObject o ? (o, null) : (null, Reply.NovaBadRequest("Malformed request body"));
        }
        catch (JsonException)
        {
            return (null, Reply.NovaBadRequest("Malformed request body"));
        }
    }

    public static string Describe(JsonNode? node) => node is null ? "None" : node.ToJsonString();

    public static bool TryString(JsonNode? node, out string value)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            value = s;
            return true;
        }

        value = string.Empty;
        return false;
    }

    public static bool TryBool(JsonNode? node, out bool value)
    {
        value = false;
        return node is JsonValue v && v.TryGetValue(out value);
    }

    /// <summary>Nova's strutils.bool_from_string(strict) for query flags such as all_tenants.</summary>
    public static bool? Flag(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "" or "1" or "t" or "true" or "on" or "y" or "yes" => true,
        "0" or "f" or "false" or "off" or "n" or "no" => false,
        _ => null,
    };

    /// <summary>Invalid-type message as jsonschema words it.</summary>
    public static string NotOfType(string field, JsonNode? node, string type) =>
        $"Invalid input for field/attribute {field}. Value: {Describe(node)}. {Describe(node)} is not of type '{type}'";
}
