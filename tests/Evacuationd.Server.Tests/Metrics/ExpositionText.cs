using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Evacuationd.Server.Tests.Metrics;

/// <summary>One sample line: its name, labels and value.</summary>
internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>One metric family: HELP, TYPE and its samples in order.</summary>
internal sealed record Family(string Name, string Help, string Type, IReadOnlyList<Sample> Samples);

/// <summary>
/// A strict reader of the Prometheus text format (0.0.4), as a scraper would read it: every
/// sample belongs to the family whose TYPE came before it, names and labels are well formed,
/// label values unescaped, histograms have ascending cumulative buckets ending in +Inf equal
/// to their count. Anything else fails the test.
/// </summary>
internal static partial class ExpositionText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    public static IReadOnlyDictionary<string, Family> Parse(string text)
    {
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the text ends with a line feed");
        var families = new Dictionary<string, (string Help, string Type, List<Sample> Samples)>(StringComparer.Ordinal);
        var helps = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var line in text.Split('\n').SkipLast(1))
        {
            Assert.False(string.IsNullOrWhiteSpace(line), "no blank lines");
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = line["# HELP ".Length..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                var name = space < 0 ? rest : rest[..space];
                Assert.Matches(MetricName(), name);
                Assert.True(helps.TryAdd(name, space < 0 ? "" : UnescapeHelp(rest[(space + 1)..])), $"one HELP for {name}");
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line["# TYPE ".Length..].Split(' ');
                Assert.Equal(2, parts.Length);
                Assert.Matches(MetricName(), parts[0]);
                Assert.Contains(parts[1], Types);
                Assert.True(helps.ContainsKey(parts[0]), $"HELP before TYPE for {parts[0]}");
                Assert.True(families.TryAdd(parts[0], (helps[parts[0]], parts[1], [])), $"one TYPE for {parts[0]}");
                current = parts[0];
                continue;
            }
            Assert.False(line.StartsWith('#'), $"no other comments: {line}");
            var sample = ParseSample(line);
            Assert.NotNull(current);
            var family = families[current];
            var allowed = family.Type == "histogram"
                ? new[] { current + "_bucket", current + "_sum", current + "_count" }
                : [current];
            Assert.Contains(sample.Name, allowed);
            family.Samples.Add(sample);
        }
        var result = families.ToDictionary(f => f.Key, f => new Family(f.Key, f.Value.Help, f.Value.Type, f.Value.Samples), StringComparer.Ordinal);
        foreach (var f in result.Values.Where(f => f.Type == "histogram"))
        {
            CheckHistogram(f);
        }
        return result;
    }

    /// <summary>The value of the one sample with this name and exactly these labels.</summary>
    public static double Value(this IReadOnlyDictionary<string, Family> families, string family, string sample, params (string Name, string Value)[] labels)
    {
        var f = families[family];
        var matches = f.Samples.Where(s => s.Name == sample && s.Labels.Count == labels.Length && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        return Assert.Single(matches).Value;
    }

    private static Sample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }
        var name = line[..i];
        Assert.Matches(MetricName(), name);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var label = line[i..eq];
                Assert.Matches(LabelName(), label);
                Assert.Equal('"', line[eq + 1]);
                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new Xunit.Sdk.XunitException($"bad escape \\{line[j]} in {line}"),
                        });
                    }
                    else
                    {
                        Assert.NotEqual('\n', line[j]);
                        value.Append(line[j]);
                    }
                }
                Assert.True(labels.TryAdd(label, value.ToString()), $"label {label} once in {line}");
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
                else
                {
                    Assert.Equal('}', line[i]);
                }
            }
            i++;
        }
        Assert.Equal(' ', line[i]);
        var number = line[(i + 1)..];
        Assert.DoesNotContain(' ', number); // no timestamps
        return new Sample(name, labels, ParseNumber(number));
    }

    private static double ParseNumber(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string UnescapeHelp(string text)
    {
        var result = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
                result.Append(text[i] switch
                {
                    '\\' => '\\',
                    'n' => '\n',
                    _ => throw new Xunit.Sdk.XunitException($"bad escape in HELP {text}"),
                });
            }
            else
            {
                result.Append(text[i]);
            }
        }
        return result.ToString();
    }

    private static void CheckHistogram(Family f)
    {
        static string Key(Sample s) => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
        foreach (var series in f.Samples.GroupBy(Key))
        {
            var buckets = series.Where(s => s.Name == f.Name + "_bucket").ToList();
            Assert.NotEmpty(buckets);
            Assert.All(buckets, b => Assert.True(b.Labels.ContainsKey("le"), "every bucket has le"));
            var bounds = buckets.Select(b => ParseNumber(b.Labels["le"])).ToList();
            Assert.Equal(bounds.Order(), bounds);
            Assert.Equal(bounds.Count, bounds.Distinct().Count());
            Assert.Equal(double.PositiveInfinity, bounds[^1]);
            var counts = buckets.Select(b => b.Value).ToList();
            Assert.Equal(counts.Order(), counts); // cumulative
            Assert.Single(series, s => s.Name == f.Name + "_sum");
            var count = Assert.Single(series, s => s.Name == f.Name + "_count");
            Assert.Equal(count.Value, counts[^1]);
        }
    }
}
