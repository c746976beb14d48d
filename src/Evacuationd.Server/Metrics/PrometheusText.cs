using System.Globalization;
using System.Text;

namespace Evacuationd.Server.Metrics;

/// <summary>Names, labels and numbers as the Prometheus text format (0.0.4) wants them.</summary>
internal static class PrometheusText
{
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["bit"] = "bits",
        ["Hz"] = "hertz",
        ["%"] = "percent",
        ["1"] = "",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["d"] = "day",
        ["h"] = "hour",
        ["min"] = "minute",
        ["s"] = "second",
        ["ms"] = "millisecond",
    };

    /// <summary>
    /// <c>evacuationd.nova.call.duration</c> in <c>s</c> → <c>evacuationd_nova_call_duration_seconds</c>;
    /// a counter also ends in <c>_total</c>. A suffix already there is not repeated.
    /// </summary>
    public static string MetricName(string instrument, string? unit, bool counter)
    {
        var name = Sanitize(instrument, allowColon: true);
        var suffix = UnitSuffix(unit);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }
        if (counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }
        return name;
    }

    /// <summary>The unit as a name suffix: UCUM-like units spelled out, <c>{annotations}</c> dropped, <c>a/b</c> as <c>a_per_b</c>.</summary>
    public static string UnitSuffix(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return "";
        }
        var plain = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                plain.Append(c);
            }
        }
        var text = plain.ToString().Trim();
        if (text.Length == 0)
        {
            return "";
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return Units.TryGetValue(text, out var known) ? known : Sanitize(text, allowColon: false).Trim('_');
        }
        var top = text[..slash];
        var bottom = text[(slash + 1)..];
        var topName = top.Length == 0 || top == "1" ? "" : (Units.TryGetValue(top, out var t) ? t : Sanitize(top, allowColon: false).Trim('_'));
        var bottomName = PerUnits.TryGetValue(bottom, out var b) ? b : Sanitize(bottom, allowColon: false).Trim('_');
        return topName.Length == 0 ? "per_" + bottomName : topName + "_per_" + bottomName;
    }

    /// <summary>Any character outside <c>[a-zA-Z0-9_]</c> (and <c>:</c> in metric names) becomes <c>_</c>; no leading digit.</summary>
    public static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }
        var chars = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            chars.Append('_');
        }
        foreach (var c in name)
        {
            chars.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        }
        return chars.ToString();
    }

    /// <summary>
    /// The label pairs of one series, sorted by name and rendered without braces
    /// (<c>call="evacuate",state="done"</c>); a measurement's tags win over constant ones.
    /// </summary>
    public static string Labels(KeyValuePair<string, object?>[] constant, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (constant.Length == 0 && tags.Length == 0)
        {
            return "";
        }
        var pairs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in constant)
        {
            pairs[Sanitize(key, allowColon: false)] = Value(value);
        }
        foreach (var (key, value) in tags)
        {
            pairs[Sanitize(key, allowColon: false)] = Value(value);
        }
        var text = new StringBuilder();
        foreach (var (name, value) in pairs)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }
            text.Append(name).Append("=\"");
            foreach (var c in value)
            {
                _ = c switch
                {
                    '\\' => text.Append("\\\\"),
                    '"' => text.Append("\\\""),
                    '\n' => text.Append("\\n"),
                    _ => text.Append(c),
                };
            }
            text.Append('"');
        }
        return text.ToString();
    }

    /// <summary>HELP text: backslashes and line feeds escaped.</summary>
    public static string EscapeHelp(string help) =>
        help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A sample value or bucket bound: shortest round-trip form, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Value(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
