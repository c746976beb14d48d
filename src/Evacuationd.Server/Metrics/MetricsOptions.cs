using System.Net;

namespace Evacuationd.Server.Metrics;

/// <summary>
/// The <c>Metrics</c> section: where Prometheus scrapes this process. Plain HTTP on its own
/// listener, apart from gRPC; any address may be given (the text holds counts and timings,
/// no host or instance names and nothing that acts on the cloud).
/// </summary>
public sealed class MetricsOptions
{
    /// <summary>The default scrape path when <see cref="Listen"/> names none.</summary>
    public const string DefaultPath = "/metrics";

    /// <summary>
    /// A URL like <c>http://127.0.0.1:9464</c> (served at <c>/metrics</c>) or
    /// <c>http://0.0.0.0:9464/custom</c>; port 0 picks a free port. Empty: no metrics endpoint.
    /// </summary>
    public string Listen { get; set; } = "";

    public bool Enabled => !string.IsNullOrWhiteSpace(Listen);

    /// <summary>Every problem, each naming its key; empty when valid (or disabled).</summary>
    public IReadOnlyList<string> Validate(string section = "Metrics")
    {
        if (!Enabled)
        {
            return [];
        }
        return TryParse(Listen, section, out _, out _, out var error) ? [] : [error!];
    }

    /// <summary><see cref="Listen"/> as the endpoint to bind and the path to serve.</summary>
    public static (IPEndPoint Endpoint, string Path) Parse(string listen, string section = "Metrics") =>
        TryParse(listen, section, out var endpoint, out var path, out var error)
            ? (endpoint!, path!)
            : throw new Configuration.ConfigurationException([error!]);

    private static bool TryParse(string listen, string section, out IPEndPoint? endpoint, out string? path, out string? error)
    {
        endpoint = null;
        path = null;
        error = null;
        var key = $"{section}:Listen";
        if (!Uri.TryCreate(listen.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            error = $"{key} must be a URL like http://127.0.0.1:9464 (got '{listen}'), or empty to serve no metrics.";
            return false;
        }
        if (uri.Scheme == "https")
        {
            error = $"{key}: https is not supported by this build; use http (the endpoint only serves metrics).";
            return false;
        }
        if (!HasPort(listen.Trim()))
        {
            error = $"{key} must name a port, e.g. http://127.0.0.1:9464 (got '{listen}').";
            return false;
        }
        IPAddress address;
        if (uri.Host is "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.DnsSafeHost, out address!))
        {
            error = $"{key} must name an IP address (0.0.0.0 for every interface) or localhost (got '{uri.Host}').";
            return false;
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            error = $"{key} takes a scheme, an address, a port and optionally a path (got '{listen}').";
            return false;
        }
        endpoint = new IPEndPoint(address, uri.Port);
        path = uri.AbsolutePath is "" or "/" ? DefaultPath : uri.AbsolutePath.TrimEnd('/');
        return true;
    }

    /// <summary>True if the URL's authority ends in an explicit <c>:port</c> (Uri hides a default one).</summary>
    private static bool HasPort(string url)
    {
        var start = url.IndexOf("//", StringComparison.Ordinal) + 2;
        var end = url.IndexOf('/', start);
        var authority = end < 0 ? url[start..] : url[start..end];
        var colon = authority.LastIndexOf(':');
        return colon >= 0 && colon > authority.LastIndexOf(']') && colon < authority.Length - 1 && authority[(colon + 1)..].All(char.IsAsciiDigit);
    }
}
