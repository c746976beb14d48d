using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Simulator.Http;

/// <summary>A validated Keystone auth request. Any user name and password are accepted.</summary>
internal sealed record AuthRequest(IReadOnlyList<string> Methods, string UserName, string? ProjectName, string? ApplicationCredentialId)
{
    /// <summary>Parses the body of POST /v3/auth/tokens; on failure returns null with a 400 message, or "401".</summary>
    public static AuthRequest? Parse(JsonNode? body, SimulatedCloud cloud, out string? error)
    {
        error = null;
        if (body is not JsonObject root || root["auth"] is not JsonObject auth)
        {
            error = "'auth' is a required property";
            return null;
        }

        if (auth["identity"] is not JsonObject identity)
        {
            error = "'identity' is a required property";
            return null;
        }

        if (identity["methods"] is not JsonArray methodsNode || methodsNode.Count == 0 ||
            methodsNode.Any(m => m is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            error = "'methods' is a required property and must be a non-empty list of strings";
            return null;
        }

        var methods = methodsNode.Select(m => m!.GetValue<string>()).ToList();
        string? userName = null;
        string? appCred = null;
        foreach (var method in methods)
        {
            switch (method)
            {
                case "password":
                    if (identity["password"] is not JsonObject password || password["user"] is not JsonObject user)
                    {
                        error = "'user' is a required property";
                        return null;
                    }

                    if (!IsString(user["password"]))
                    {
                        error = "'password' is a required property";
                        return null;
                    }

                    userName = Str(user["name"]) ?? Str(user["id"]);
                    if (userName is null || (user["name"] is not null && user["domain"] is not JsonObject))
                    {
                        error = "Expecting to find user name with a domain, or a user id in identity. The server could not comply with the request since it is either malformed or otherwise incorrect.";
                        return null;
                    }

                    break;
                case "application_credential":
                    if (identity["application_credential"] is not JsonObject ac || !IsString(ac["secret"]) ||
                        (Str(ac["id"]) is null && Str(ac["name"]) is null))
                    {
                        error = "Expecting to find id or name with a secret in application_credential. The server could not comply with the request since it is either malformed or otherwise incorrect.";
                        return null;
                    }

                    appCred = Str(ac["id"]) ?? Str(ac["name"]);
                    userName ??= "admin";
                    break;
                case "token":
                    if (identity["token"] is not JsonObject tk || cloud.ValidateToken(Str(tk["id"])) is not { } previous)
                    {
                        error = "401";
                        return null;
                    }

                    userName ??= previous.UserName;
                    break;
                default:
                    error = "401";
                    return null;
            }
        }

        string? projectName = null;
        if (appCred is not null)
        {
            projectName = "admin";
        }
        else if (auth["scope"] is JsonObject scope && scope["project"] is JsonObject project)
        {
            if (Str(project["name"]) is { } name)
            {
                if (project["domain"] is not JsonObject)
                {
                    error = "Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect.";
                    return null;
                }

                projectName = name;
            }
            else if (Str(project["id"]) is { } id)
            {
                projectName = id == cloud.AdminProjectId ? "admin" : id == cloud.DemoProjectId ? "demo" : null;
                if (projectName is null)
                {
                    error = "401";
                    return null;
                }
            }
            else
            {
                error = "Expecting to find project name with a domain, or a project id in scope.";
                return null;
            }
        }

        return new AuthRequest(methods, userName ?? "admin", projectName, appCred);
    }

    private static bool IsString(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out _);

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
