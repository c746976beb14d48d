using System.Net;
using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Security;

/// <summary>
/// <c>Grpc:HealthListen</c>: an optional second listener, plaintext HTTP/2, that serves
/// grpc.health.v1 and nothing else, for probes that cannot present a client certificate
/// (Kubernetes' grpc probe has no TLS). It tells only SERVING or NOT_SERVING (this process
/// holds a lease or not); every other path on it is refused before any service runs.
/// </summary>
internal static class HealthListener
{
    /// <summary>HttpContext.Items key set on requests that came in on the health listener.</summary>
    public const string ItemKey = "evacuationd.health-listener";

    public const string HealthPathPrefix = "/grpc.health.v1.Health/";

    /// <summary>The endpoint of a <c>Grpc:HealthListen</c> URL; null when empty.</summary>
    public static IPEndPoint? Parse(string? listen, int grpcPort, string section = "Grpc")
    {
        if (string.IsNullOrWhiteSpace(listen))
        {
            return null;
        }
        var key = $"{section}:HealthListen";
        if (!Uri.TryCreate(listen.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new ConfigurationException([$"{key} must be a plaintext URL like http://0.0.0.0:50444 (scheme, address, port; got '{listen}'), or empty for none."]);
        }
        IPAddress address;
        if (uri.Host is "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address!))
        {
            throw new ConfigurationException([$"{key} must name an IP address (0.0.0.0 or [::] for every interface) or localhost (got '{uri.Host}')."]);
        }
        if (uri.Port <= 0 || uri.IsDefaultPort && !listen.Contains(":80", StringComparison.Ordinal))
        {
            throw new ConfigurationException([$"{key} must name a port, e.g. http://0.0.0.0:50444 (got '{listen}')."]);
        }
        if (uri.Port == grpcPort)
        {
            throw new ConfigurationException([$"{key} must use another port than {section}:Listen ({grpcPort})."]);
        }
        return new IPEndPoint(address, uri.Port);
    }
}
