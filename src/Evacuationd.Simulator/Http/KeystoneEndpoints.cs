using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Evacuationd.Simulator.Http;

/// <summary>Keystone v3 under /identity: version documents and password / application-credential / token auth.</summary>
internal static class KeystoneEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/identity", Versions);
        app.MapGet("/identity/v3", (HttpContext ctx) => Reply.Json(new JsonObject { ["version"] = KeystoneJson.Version(ctx.BaseUrl()) }));
        app.MapPost("/identity/v3/auth/tokens", IssueAsync);
        app.MapGet("/identity/v3/auth/tokens", Validate);
    }

    private static IResult Versions(HttpContext ctx) => Reply.Json(
        new JsonObject { ["versions"] = new JsonObject { ["values"] = new JsonArray(KeystoneJson.Version(ctx.BaseUrl())) } },
        StatusCodes.Status300MultipleChoices);

    private static IResult Validate(HttpContext ctx, SimulatedCloud cloud)
    {
        if (cloud.ValidateToken(ctx.Request.Headers["X-Auth-Token"].ToString()) is null)
        {
            return Reply.Unauthorized();
        }

        var subject = cloud.ValidateToken(ctx.Request.Headers["X-Subject-Token"].ToString());
        if (subject is null)
        {
            return Reply.Keystone(StatusCodes.Status404NotFound, "Not Found", "Could not find token.");
        }

        ctx.Response.Headers["X-Subject-Token"] = subject.Token;
        return Reply.Json(KeystoneJson.Token(subject, cloud, ctx.BaseUrl(), !ctx.Request.Query.ContainsKey("nocatalog")));
    }

    private static async Task<IResult> IssueAsync(HttpContext ctx, SimulatedCloud cloud)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return BadRequest("Malformed request body: the body is not valid JSON.");
        }

        var request = AuthRequest.Parse(body, cloud, out var error);
        if (request is null)
        {
            return error == "401" ? Reply.Unauthorized() : BadRequest(error ?? "Invalid input.");
        }

        var token = cloud.IssueToken(request.Methods, request.UserName, request.ProjectName, request.ApplicationCredentialId);
        ctx.Response.Headers["X-Subject-Token"] = token.Token;
        return Reply.Json(KeystoneJson.Token(token, cloud, ctx.BaseUrl(), !ctx.Request.Query.ContainsKey("nocatalog")), StatusCodes.Status201Created);
    }

    private static IResult BadRequest(string message) => Reply.Keystone(StatusCodes.Status400BadRequest, "Bad Request", message);
}
