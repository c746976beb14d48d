using System.Globalization;
using System.Reflection;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Evacuationd.Cli.Output;

/// <summary>Small text conversions shared by the outputs.</summary>
internal static class Text
{
    public const string Missing = "-";

    public static string OrDash(string? value) => string.IsNullOrEmpty(value) ? Missing : value;

    /// <summary>"2025-03-01 12:00:05Z", or "-" when unset.</summary>
    public static string Utc(Timestamp? at) =>
        at is null ? Missing : at.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>"12:00:05" in the given zone (human watch lines).</summary>
    public static string Clock(DateTimeOffset at, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(at, zone).ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>"in 7s", "3m ago".</summary>
    public static string Relative(DateTimeOffset at, DateTimeOffset now)
    {
        var delta = at - now;
        var magnitude = delta.Duration();
        var text = magnitude.TotalSeconds < 90 ? $"{(int)Math.Round(magnitude.TotalSeconds)}s"
            : magnitude.TotalMinutes < 90 ? $"{(int)Math.Round(magnitude.TotalMinutes)}m"
            : magnitude.TotalHours < 48 ? $"{(int)Math.Round(magnitude.TotalHours)}h"
            : $"{(int)Math.Round(magnitude.TotalDays)}d";
        return delta >= TimeSpan.Zero ? $"in {text}" : $"{text} ago";
    }

    public static string Truncate(string value, int max) =>
        value.Length <= max ? value : string.Concat(value.AsSpan(0, max - 3), "...");

    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// An enum value's proto name without its type prefix, lower case, '_' as '-':
    /// FENCE_SOURCE_FENCE_AGENT -> "fence-agent", RECORD_STATE_DONE -> "done".
    /// </summary>
    public static string EnumName<T>(T value) where T : struct, System.Enum =>
        EnumNames<T>.ByValue.TryGetValue(value, out var name) ? name : value.ToString().ToLowerInvariant();

    /// <summary>Short names of every value except the unspecified (zero) one.</summary>
    public static IReadOnlyDictionary<string, T> EnumValues<T>() where T : struct, System.Enum => EnumNames<T>.ByName;

    private static class EnumNames<T> where T : struct, System.Enum
    {
        public static readonly Dictionary<T, string> ByValue = Build();

        public static readonly Dictionary<string, T> ByName = ByValue
            .Where(p => Convert.ToInt32(p.Key, CultureInfo.InvariantCulture) != 0)
            .ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

        private static Dictionary<T, string> Build()
        {
            var originals = typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Select(f => (Value: (T)f.GetValue(null)!, Name: f.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? f.Name))
                .ToList();
            var prefix = CommonPrefix(originals.Select(o => o.Name).ToList());
            return originals.ToDictionary(
                o => o.Value,
                o => o.Name[prefix.Length..].ToLowerInvariant().Replace('_', '-'));
        }

        private static string CommonPrefix(List<string> names)
        {
            if (names.Count < 2)
            {
                return string.Empty;
            }

            var prefix = names[0];
            foreach (var name in names.Skip(1))
            {
                var n = 0;
                while (n < prefix.Length && n < name.Length && prefix[n] == name[n])
                {
                    n++;
                }

                prefix = prefix[..n];
            }

            var cut = prefix.LastIndexOf('_');
            return cut < 0 ? string.Empty : prefix[..(cut + 1)];
        }
    }
}
