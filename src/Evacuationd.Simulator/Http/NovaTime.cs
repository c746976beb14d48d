using System.Globalization;

namespace Evacuationd.Simulator.Http;

/// <summary>The timestamp formats of the OpenStack APIs.</summary>
internal static class NovaTime
{
    /// <summary>os-services / os-migrations: 2026-11-23T09:01:20.000000 (UTC, no zone).</summary>
    /// <remarks>Nova's database keeps whole seconds, so the fraction is always .000000.</remarks>
    public static string Db(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'.000000'", CultureInfo.InvariantCulture);

    /// <summary>servers, Glance: 2026-11-23T09:01:20Z.</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Keystone: 2026-11-23T10:01:20.000000Z.</summary>
    public static string Keystone(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
