using System.Globalization;

namespace Evacuationd.Nova;

/// <summary>A compute API microversion "2.X".</summary>
public readonly record struct Microversion(int Major, int Minor) : IComparable<Microversion>
{
    /// <summary>Below this Nova has no forced_down by service id (FACTS.md): refuse to run.</summary>
    public static readonly Microversion Minimum = new(2, 53);

    /// <summary>From here the evacuate body has no "force".</summary>
    public static readonly Microversion NoForce = new(2, 68);

    /// <summary>From here lock takes a reason.</summary>
    public static readonly Microversion LockReason = new(2, 73);

    public static bool TryParse(string? text, out Microversion version)
    {
        version = default;
        var parts = text?.Trim().Split('.');
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return false;
        }
        version = new Microversion(major, minor);
        return true;
    }

    public int CompareTo(Microversion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(Microversion a, Microversion b) => a.CompareTo(b) < 0;
    public static bool operator >(Microversion a, Microversion b) => a.CompareTo(b) > 0;
    public static bool operator <=(Microversion a, Microversion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Microversion a, Microversion b) => a.CompareTo(b) >= 0;

    public static Microversion Min(Microversion a, Microversion b) => a <= b ? a : b;

    public override string ToString() => $"{Major}.{Minor}";
}
