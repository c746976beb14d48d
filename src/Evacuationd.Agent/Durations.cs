using System.Globalization;
using System.Text.RegularExpressions;

namespace Evacuationd.Agent;

/// <summary>Durations as the agent's options write them: <c>500ms</c>, <c>10s</c>, <c>5m</c>, <c>1h</c>, or a plain number of seconds.</summary>
internal static partial class Durations
{
    [GeneratedRegex(@"^\s*(?<n>[0-9]+(\.[0-9]+)?)\s*(?<unit>ms|s|m|h)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = text is null ? null : Pattern().Match(text);
        if (match is null || !match.Success
            || !double.TryParse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        var seconds = match.Groups["unit"].Value switch
        {
            "ms" => n / 1000,
            "m" => n * 60,
            "h" => n * 3600,
            _ => n,
        };
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 4)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>"10s", "1.5s", "5m", "250ms".</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromSeconds(1) && duration > TimeSpan.Zero)
        {
            return $"{duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)}ms";
        }

        if (duration >= TimeSpan.FromMinutes(1) && duration.Ticks % TimeSpan.TicksPerMinute == 0)
        {
            return $"{duration.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)}m";
        }

        return $"{duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s";
    }
}
