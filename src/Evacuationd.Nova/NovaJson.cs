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

    public static string? Str(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    public static string? Str(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) ? Str(v) : null;

    public static bool Bool(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.True;

    public static long Long(JsonElement e, string property)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(property, out var v))
        {
            return 0;
        }
        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetInt64(out var l) => l,
            JsonValueKind.String when long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
            _ => 0,
        };
    }

    /// <summary>The property's value, or default (kind Undefined) when absent or when <paramref name="e"/> is not an object.</summary>
    public static JsonElement Prop(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) ? v : default;

    /// <summary>The items of an array property (none when absent or not an array).</summary>
    public static IEnumerable<JsonElement> Items(JsonElement e, string property) =>
        Prop(e, property) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : [];

    /// <summary>Whether a "links" array names a next page.</summary>
    public static bool HasNext(JsonElement e, string property) => Items(e, property).Any(l => Str(l, "rel") == "next");

    public static DateTimeOffset? Time(JsonElement e, string property) => Time(Str(e, property));

    public static DateTimeOffset? Time(JsonNode? node) => Time(Str(node));

    /// <summary>Nova writes "2026-11-23T09:01:20.000000" (UTC, no zone) and also ISO with Z.</summary>
    private static DateTimeOffset? Time(string? s)
    {
        if (string.IsNullOrEmpty(s))
        {
            return null;
        }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
    }

    public static IReadOnlyDictionary<string, string> StringMap(JsonElement e)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                map[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Null => "",
                    _ => p.Value.GetRawText(),
                };
            }
        }
        return map;
    }

    public static ComputeService Service(JsonElement s) => new(
        Id: Str(s, "id") ?? Long(s, "id").ToString(CultureInfo.InvariantCulture),
        Host: Str(s, "host") ?? "",
        Enabled: Str(s, "status") == "enabled",
        Up: Str(s, "state") == "up",
        ForcedDown: Bool(s, "forced_down"),
        DisabledReason: Str(s, "disabled_reason"));

    public static ServerView Server(JsonElement s)
    {
        var image = Prop(s, "image");
        var flavor = Prop(s, "flavor");
        return new ServerView
        {
            Id = Str(s, "id") ?? "",
            Name = Str(s, "name") ?? "",
            Status = Str(s, "status") ?? "",
            Host = Str(s, "OS-EXT-SRV-ATTR:host"),
            VmState = Str(s, "OS-EXT-STS:vm_state") ?? "",
            TaskState = Str(s, "OS-EXT-STS:task_state"),
            Metadata = StringMap(Prop(s, "metadata")),
            FlavorExtraSpecs = StringMap(Prop(flavor, "extra_specs")),
            FlavorName = Str(flavor, "original_name"),
            // Booted from volume: "image" is an empty string.
            ImageId = Str(image, "id"),
            Tags = Items(s, "tags").Select(Str).OfType<string>().ToList(),
            Locked = Bool(s, "locked"),
            Fault = Str(Prop(s, "fault"), "message"),
        };
    }

    public static MigrationView Migration(JsonElement m) => new(
        Id: Long(m, "id"),
        Status: Str(m, "status") ?? "",
        SourceCompute: Str(m, "source_compute"),
        DestCompute: Str(m, "dest_compute"),
        CreatedAt: Time(m, "created_at") ?? DateTimeOffset.MinValue,
        UpdatedAt: Time(m, "updated_at"))
    {
        InstanceUuid = Str(m, "instance_uuid"),
    };
}
