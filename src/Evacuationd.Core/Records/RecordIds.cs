using System.Text.RegularExpressions;

namespace Evacuationd.Core.Records;

/// <summary>
/// Ids of fencings and records. They are derived, not random, so that planning the same
/// fencing twice (a successor re-planning after a crash) yields the same records (S2).
/// A record id reads "host:generation:instance-uuid", e.g.
/// "compute-01:1:3f2a9c1b-fc20-4b04-bbba-cb55850d9a5e": it depends on nothing but its own
/// instance, so a plan committed in parts, or re-made after servers changed, cannot give
/// one instance two ids.
/// </summary>
public static partial class RecordIds
{
    public static string EvacuationId(string host, long generation) => $"{host}:{generation}";

    public static string ForInstance(string host, long generation, string instanceUuid) =>
        $"{host}:{generation}:{instanceUuid.ToLowerInvariant()}";

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

    /// <summary>The problem with a host name given in a request, or null when it is valid.</summary>
    public static string? HostNameProblem(string? host) =>
        string.IsNullOrEmpty(host) ? "host is required"
        : IsValidHostName(host) ? null
        : $"host '{Shown(host)}' is not a valid compute host name (letters, digits, '.', '-', '_'; at most 255 characters)";

    /// <summary>A value from a request as it may appear in an answer: long ones are cut (a gRPC status must stay small).</summary>
    public static string Shown(string value) =>
        value.Length <= 64 ? value : $"{value[..64]}... ({value.Length} characters)";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*\z")]
    private static partial Regex HostNamePattern();
}
