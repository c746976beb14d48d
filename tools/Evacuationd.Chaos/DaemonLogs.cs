using System.Text.Json;

namespace Evacuationd.Chaos;

/// <summary>
/// What the daemons said about themselves (their JSON log lines, by event id), for the figures:
/// leases lost, evacuate calls withheld, writes etcd's guards refused (by reason), runner and
/// watch failures. Not checks: the invariants are judged from etcd and evacsim.
/// </summary>
internal static class DaemonLogs
{
    private static readonly Dictionary<int, string> Events = new()
    {
        [100] = "leases lost (renewals late or refused)",
        [214] = "evacuate calls withheld: lease not safely valid",
        [216] = "runners failed unexpectedly",
        [220] = "watch failures",
    };

    public static IReadOnlyDictionary<string, int> Count(IEnumerable<string> logs)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var path in logs.Where(File.Exists))
        {
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith('{'))
                {
                    continue;
                }
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (!doc.RootElement.TryGetProperty("EventId", out var e) || !e.TryGetProperty("Id", out var idElement))
                    {
                        continue;
                    }
                    var id = idElement.GetInt32();
                    string? name = id == 212
                        ? $"writes refused by etcd's guards: {(doc.RootElement.TryGetProperty("Status", out var s) ? s.GetString() : "?")}"
                          + (doc.RootElement.TryGetProperty("Detail", out var d) && d.GetString() == "the record changed during the write" ? " (compares failed, record untouched: an in-flight slot taken meanwhile)" : "")
                        : Events.GetValueOrDefault(id);
                    if (name is not null)
                    {
                        counts[name] = counts.GetValueOrDefault(name) + 1;
                    }
                }
                catch (JsonException)
                {
                }
            }
        }
        return counts;
    }
}
