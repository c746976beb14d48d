using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Core.Compute;

namespace Evacuationd.Nova;

/// <summary>Nova's JSON shapes (FACTS.md) read into the compute port's types.</summary>
internal static class NovaJson
{
    public static string? Str(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static bool Bool(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    public static long Long(JsonNode? node) =>
        node is JsonValue v && (v.TryGetValue<long>(out var l) || (v.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out l))) ? l : 0;

    /// <summary>Nova writes "2026-11-23T09:01:20.000000" (UTC, no zone) and also ISO with Z.</summary>
    public static DateTimeOffset? Time(JsonNode? node)
    {
        var s = Str(node);
        if (string.IsNullOrEmpty(s))
        {
            return null;
        }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
    }

    public static IReadOnlyDictionary<string, string> StringMap(JsonNode? node)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is JsonObject obj)
        {
            foreach (var (k, v) in obj)
            {
                map[k] = v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : v?.ToJsonString() ?? "";
            }
        }
        return map;
    }

    public static ComputeService Service(JsonNode s) => new(
        Id: Str(s["id"]) ?? Long(s["id"]).ToString(CultureInfo.InvariantCulture),
        Host: Str(s["host"]) ?? "",
        Enabled: Str(s["status"]) == "enabled",
        Up: Str(s["state"]) == "up",
        ForcedDown: Bool(s["forced_down"]),
        DisabledReason: Str(s["disabled_reason"]));

    public static ServerView Server(JsonNode s)
    {
        var image = s["image"];
        return new ServerView
        {
            Id = Str(s["id"]) ?? "",
            Name = Str(s["name"]) ?? "",
            Status = Str(s["status"]) ?? "",
            Host = Str(s["OS-EXT-SRV-ATTR:host"]),
            VmState = Str(s["OS-EXT-STS:vm_state"]) ?? "",
            TaskState = Str(s["OS-EXT-STS:task_state"]),
            Metadata = StringMap(s["metadata"]),
            FlavorExtraSpecs = StringMap(s["flavor"]?["extra_specs"]),
            FlavorName = Str(s["flavor"]?["original_name"]),
            // Booted from volume: "image" is an empty string.
            ImageId = image is JsonObject ? Str(image["id"]) : null,
            Tags = s["tags"] is JsonArray tags ? tags.Select(Str).OfType<string>().ToList() : [],
            Locked = Bool(s["locked"]),
            Fault = Str(s["fault"]?["message"]),
        };
    }

    public static MigrationView Migration(JsonNode m) => new(
        Id: Long(m["id"]),
        Status: Str(m["status"]) ?? "",
        SourceCompute: Str(m["source_compute"]),
        DestCompute: Str(m["dest_compute"]),
        CreatedAt: Time(m["created_at"]) ?? DateTimeOffset.MinValue,
        UpdatedAt: Time(m["updated_at"]))
    {
        InstanceUuid = Str(m["instance_uuid"]),
    };
}
