using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Http;

/// <summary>
/// The control API's fault set: <c>{"seed": 42, "faults": [{"kind": "latency", "p": 0.2, "ms": 800,
/// "path": "os-migrations"}, "5xx:p=0.05", ...]}</c>. A rule is an object (kind plus the parameters of
/// <see cref="FaultSpec"/>: p, ms, path, method, code, after, host) or a command-line spec string.
/// </summary>
internal static class FaultJson
{
    public static JsonObject Settings(FaultSettings settings) => new()
    {
        ["seed"] = settings.Seed,
        ["faults"] = new JsonArray(settings.Faults.Select(f => (JsonNode?)Spec(f)).ToArray()),
    };

    public static JsonObject Spec(FaultSpec f)
    {
        var o = new JsonObject { ["kind"] = f.Kind, ["p"] = f.P };
        if (f.Ms is { } ms)
        {
            o["ms"] = ms;
        }

        if (f.Code is { } code)
        {
            o["code"] = code;
        }

        if (f.Path is not null)
        {
            o["path"] = f.Path;
        }

        if (f.Method is not null)
        {
            o["method"] = f.Method;
        }

        if (f.After)
        {
            o["after"] = true;
        }

        if (f.Host is not null)
        {
            o["host"] = f.Host;
        }

        return o;
    }

    /// <summary>Reads a PUT body: the rules and the optional seed, or the error to answer.</summary>
    public static (List<FaultSpec>? Faults, int? Seed, string? Error) Read(JsonNode? body)
    {
        JsonArray? list;
        int? seed = null;
        switch (body)
        {
            case JsonArray a:
                list = a;
                break;
            case JsonObject o:
                foreach (var (key, _) in o)
                {
                    if (key is not ("faults" or "seed"))
                    {
                        return (null, null, $"unexpected member '{key}' (expected faults and optionally seed)");
                    }
                }

                if (o["seed"] is { } seedNode)
                {
                    if (seedNode is not JsonValue sv || !sv.TryGetValue<int>(out var s))
                    {
                        return (null, null, "seed must be a 32-bit integer");
                    }

                    seed = s;
                }

                list = o["faults"] as JsonArray;
                if (list is null)
                {
                    return (null, null, "faults must be an array (use [] or DELETE to clear)");
                }

                break;
            default:
                return (null, null, "the body must be an object {\"faults\": [...], \"seed\": N} or an array of faults");
        }

        var faults = new List<FaultSpec>();
        for (var i = 0; i < list.Count; i++)
        {
            var (fault, error) = Rule(list[i]);
            if (fault is null)
            {
                return (null, null, $"faults[{i.ToString(CultureInfo.InvariantCulture)}]: {error}");
            }

            faults.Add(fault);
        }

        return (faults, seed, null);
    }

    private static (FaultSpec? Fault, string? Error) Rule(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var spec))
        {
            var parsed = FaultSpec.TryParse(spec, out var specError);
            return (parsed, specError);
        }

        if (node is not JsonObject o)
        {
            return (null, "a fault is an object with a kind, or a spec string like \"5xx:p=0.05\"");
        }

        if (o["kind"] is not JsonValue kv || !kv.TryGetValue<string>(out var kind))
        {
            return (null, "kind is required and must be a string");
        }

        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in o)
        {
            if (key == "kind" || value is null)
            {
                continue;
            }

            if (value is not JsonValue jv)
            {
                return (null, $"{kind}: '{key}' must be a string, number or boolean");
            }

            var text = jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : jv.ToJsonString();
            parameters.Add(new KeyValuePair<string, string>(key, text));
        }

        var fault = FaultSpec.FromParameters(kind, parameters, out var error);
        return (fault, error);
    }
}
