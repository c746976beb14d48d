using System.Text.RegularExpressions;

namespace Evacuationd.Core.Records;

/// <summary>
/// Ids of fencings and records. They are derived, not random, so that planning the same
/// fencing twice (a successor re-planning after a crash) yields the same records (S2).
/// A record id reads "host:generation:uuid-prefix", e.g. "compute-01:1:3f2a9c1b".
/// </summary>
public static partial class RecordIds
{
    public const int ShortUuidLength = 8;

    public static string EvacuationId(string host, long generation) => $"{host}:{generation}";

    /// <summary>Record ids for the instances of one fencing; a uuid prefix shared by two
    /// instances of the fencing makes both use their full uuid.</summary>
    public static IReadOnlyDictionary<string, string> ForInstances(string host, long generation, IEnumerable<string> instanceUuids)
    {
        var uuids = instanceUuids.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var prefixCounts = uuids
            .GroupBy(Short, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        return uuids.ToDictionary(
            u => u,
            u => $"{host}:{generation}:{(prefixCounts[Short(u)] > 1 ? u.ToLowerInvariant() : Short(u))}",
            StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Host and generation encoded in a record id, if it is one.</summary>
    public static bool TryParse(string id, out string host, out long generation)
    {
        host = "";
        generation = 0;
        var parts = id.Split(':');
        if (parts.Length != 3 || !IsValidHostName(parts[0]) || !long.TryParse(parts[1], out generation) || generation < 1)
        {
            return false;
        }
        host = parts[0];
        return parts[2].Length > 0;
    }

    /// <summary>A Nova compute host name: letters, digits, '-', '_' and '.', at most 255 characters.</summary>
    public static bool IsValidHostName(string? host) =>
        !string.IsNullOrEmpty(host) && host.Length <= 255 && HostNamePattern().IsMatch(host);

    private static string Short(string uuid) =>
        (uuid.Length > ShortUuidLength ? uuid[..ShortUuidLength] : uuid).ToLowerInvariant();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex HostNamePattern();
}
