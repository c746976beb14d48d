using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Planning;

/// <summary>Decides whether an instance is selected for evacuation, and says why not.</summary>
public static class EvacuableFilter
{
    /// <summary>Null when selected; otherwise the reason it is not.</summary>
    public static string? WhyNotSelected(ServerView server, EvacuableFilterOptions filter)
    {
        var key = filter.Key;
        return filter.Mode switch
        {
            EvacuableMode.All => null,
            EvacuableMode.Metadata => Check(server.Metadata, key, filter.Value, "server metadata"),
            EvacuableMode.FlavorExtraSpec => Check(server.FlavorExtraSpecs, key, filter.Value, "flavor extra spec"),
            EvacuableMode.ImageProperty => Check(server.ImageProperties, key, filter.Value, "image property"),
            EvacuableMode.Tag => server.Tags.Contains(key, StringComparer.OrdinalIgnoreCase)
                ? null
                : $"not selected for evacuation: the server has no tag '{key}'",
            _ => $"unknown evacuable filter mode {filter.Mode}",
        };
    }

    private static string? Check(IReadOnlyDictionary<string, string> values, string key, string expected, string what)
    {
        var found = values.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase));
        if (found.Key is null)
        {
            return $"not selected for evacuation: {what} '{key}' is not set";
        }
        if (expected.Length > 0 && !string.Equals(found.Value, expected, StringComparison.OrdinalIgnoreCase))
        {
            return $"not selected for evacuation: {what} '{key}' is '{found.Value}', not '{expected}'";
        }
        return null;
    }
}
