using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Simulator.Http;

/// <summary>Keystone v3 JSON shapes.</summary>
internal static class KeystoneJson
{
    public static JsonObject Version(string baseUrl) => new()
    {
        ["id"] = "v3.14",
        ["status"] = "stable",
        ["updated"] = "2020-04-07T00:00:00Z",
        ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = baseUrl + "identity/v3/" }),
        ["media-types"] = new JsonArray(new JsonObject
        {
            ["base"] = "application/json",
            ["type"] = "application/vnd.openstack.identity-v3+json",
        }),
    };

    public static JsonObject Token(TokenInfo t, SimulatedCloud cloud, string baseUrl, bool withCatalog)
    {
        var domain = Domain();
        var token = new JsonObject
        {
            ["methods"] = new JsonArray(t.Methods.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["user"] = new JsonObject
            {
                ["domain"] = domain,
                ["id"] = t.UserId,
                ["name"] = t.UserName,
                ["password_expires_at"] = null,
            },
            ["audit_ids"] = new JsonArray(StableId("audit", t.Token)[..22]),
            ["expires_at"] = NovaTime.Keystone(t.ExpiresAt),
            ["issued_at"] = NovaTime.Keystone(t.IssuedAt),
        };
        if (t.ProjectId is not null)
        {
            token["project"] = new JsonObject { ["domain"] = Domain(), ["id"] = t.ProjectId, ["name"] = t.ProjectName };
            token["is_domain"] = false;
            token["roles"] = new JsonArray(
                new JsonObject { ["id"] = cloud.AdminRoleId, ["name"] = "admin" },
                new JsonObject { ["id"] = StableId("role", "member"), ["name"] = "member" },
                new JsonObject { ["id"] = StableId("role", "reader"), ["name"] = "reader" });
            if (withCatalog)
            {
                token["catalog"] = Catalog(baseUrl, cloud.Options.Region);
            }
        }

        if (t.ApplicationCredentialId is not null)
        {
            token["application_credential"] = new JsonObject
            {
                ["id"] = t.ApplicationCredentialId,
                ["name"] = "evacuationd",
                ["restricted"] = true,
            };
        }

        return new JsonObject { ["token"] = token };
    }

    public static JsonArray Catalog(string baseUrl, string region) => new(
        Service("compute", "nova", baseUrl + "compute/v2.1", region),
        Service("image", "glance", baseUrl + "image", region),
        Service("identity", "keystone", baseUrl + "identity/v3", region));

    private static JsonObject Service(string type, string name, string url, string region)
    {
        var endpoints = new JsonArray();
        foreach (var iface in new[] { "public", "internal", "admin" })
        {
            endpoints.Add(new JsonObject
            {
                ["id"] = StableId(name, iface),
                ["interface"] = iface,
                ["region"] = region,
                ["region_id"] = region,
                ["url"] = url,
            });
        }

        return new JsonObject { ["endpoints"] = endpoints, ["id"] = StableId("service", name), ["type"] = type, ["name"] = name };
    }

    private static JsonObject Domain() => new() { ["id"] = "default", ["name"] = "Default" };

    /// <summary>A stable 32-hex id derived from its parts.</summary>
    private static string StableId(string a, string b) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a + "/" + b)))[..32];
}
