using System.Globalization;

namespace Evacuationd.Agent.Adapters;

/// <summary>When this machine booted: the <c>btime</c> line of /proc/stat (Linux); null where that cannot be read.</summary>
internal static class BootTime
{
    public static DateTimeOffset? Read(string procStat = "/proc/stat")
    {
        try
        {
            foreach (var line in File.ReadLines(procStat))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return DateTimeOffset.FromUnixTimeSeconds(seconds);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no /proc: the daemon gets no boot time.
        }

        return null;
    }
}
