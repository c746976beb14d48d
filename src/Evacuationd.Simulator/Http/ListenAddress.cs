using System.Globalization;
using System.Net;

namespace Evacuationd.Simulator;

/// <summary>A parsed <c>--listen</c> URL: <c>http://HOST:PORT</c> where HOST is an IP, localhost, * or +.</summary>
internal sealed record ListenAddress(IPAddress? Address, bool Localhost, int Port)
{
    public static bool TryParse(string value, out ListenAddress result)
    {
        result = new ListenAddress(IPAddress.Loopback, false, 0);
        if (string.IsNullOrEmpty(value) || !value.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = value["http://".Length..].TrimEnd('/');
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || rest.EndsWith(']'))
        {
            return false;
        }

        var host = rest[..colon];
        if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        if (host is "*" or "+")
        {
            result = new ListenAddress(IPAddress.Any, false, port);
            return true;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            result = new ListenAddress(null, true, port);
            return true;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!IPAddress.TryParse(host, out var ip))
        {
            return false;
        }

        result = new ListenAddress(ip, false, port);
        return true;
    }
}
