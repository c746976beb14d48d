using System.Globalization;

namespace Evacuationd.Simulator.Http;

/// <summary>A compute API microversion (major.minor).</summary>
public readonly record struct ApiVersion(int Major, int Minor) : IComparable<ApiVersion>
{
    public static readonly ApiVersion Min = new(2, 1);

    public static bool operator <(ApiVersion a, ApiVersion b) => a.CompareTo(b) < 0;

    public static bool operator >(ApiVersion a, ApiVersion b) => a.CompareTo(b) > 0;

    public static bool operator <=(ApiVersion a, ApiVersion b) => a.CompareTo(b) <= 0;

    public static bool operator >=(ApiVersion a, ApiVersion b) => a.CompareTo(b) >= 0;

    /// <summary>Parses "2.93" (no leading zeros check, like Nova's regex ^([1-9]\d*)\.([1-9]\d*|0)$).</summary>
    public static bool TryParse(string? text, out ApiVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == text.Length - 1)
        {
            return false;
        }

        var major = text[..dot];
        var minor = text[(dot + 1)..];
        if (major.StartsWith('0') || (minor.Length > 1 && minor.StartsWith('0')))
        {
            return false;
        }

        if (!int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var ma) ||
            !int.TryParse(minor, NumberStyles.None, CultureInfo.InvariantCulture, out var mi))
        {
            return false;
        }

        version = new ApiVersion(ma, mi);
        return true;
    }

    public static ApiVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"not a microversion: {text}");

    public int CompareTo(ApiVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public override string ToString() => $"{Major.ToString(CultureInfo.InvariantCulture)}.{Minor.ToString(CultureInfo.InvariantCulture)}";
}
