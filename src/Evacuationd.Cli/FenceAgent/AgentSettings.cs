using System.Globalization;
using System.Text.RegularExpressions;

namespace Evacuationd.Cli.FenceAgent;

/// <summary>One agent run's parameters, checked. <see cref="Read"/> names every problem.</summary>
internal sealed partial record AgentSettings(
    string Action,
    string? Host,
    IReadOnlyList<Uri> Servers,
    string? CaFile,
    string? CertFile,
    string? KeyFile,
    TimeSpan Timeout,
    string? Domain,
    bool Verbose,
    string? DebugFile)
{
    /// <summary>Longest total time accepted: Pacemaker's own fencing timeouts are of this order.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The action alone, as early as possible: metadata must work whatever else was passed, and
    /// a bad debug_file must not stop anything.
    /// </summary>
    public static string ActionOf(AgentInput input) => input["action"] ?? "reboot";

    /// <summary>The settings, or every problem found (each naming its parameter).</summary>
    public static (AgentSettings? Settings, IReadOnlyList<string> Errors) Read(AgentInput input)
    {
        var errors = new List<string>(input.Errors);
        foreach (var key in input.Values.Keys.Where(k => AgentParameters.ByName(k) is null && !k.StartsWith("pcmk_", StringComparison.Ordinal)))
        {
            errors.Add($"unknown parameter '{Shown.Value(key)}' (known: {string.Join(", ", AgentParameters.All.Select(p => p.Name))})");
        }

        var action = ActionOf(input);
        if (!AgentParameters.Actions.Contains(action, StringComparer.Ordinal))
        {
            errors.Add($"action: '{Shown.Value(action)}' is not supported (supported: {string.Join(", ", AgentParameters.Actions)})");
        }

        var domain = input["domain"]?.TrimStart('.');
        if (domain is not null && !DomainPattern().IsMatch(domain))
        {
            errors.Add($"domain: '{Shown.Value(domain)}' is not a DNS domain (letters, digits, '-' and dots)");
            domain = null;
        }

        var host = ReadHost(input, domain, errors);
        if (host is null && action is "off" or "on" or "reboot")
        {
            errors.Add($"action {action} needs the host: port or plug (Pacemaker passes it)");
        }

        var servers = ReadServers(input["server"], errors);
        var timeout = ReadTimeout(input["timeout"], errors);
        var verbose = ReadFlag(input, "verbose", errors);

        if (errors.Count > 0)
        {
            return (null, errors);
        }
        return (new AgentSettings(action, host, servers, input["ca_file"], input["cert_file"], input["key_file"], timeout, domain, verbose, input["debug_file"]), errors);
    }

    /// <summary>A name from <see cref="Host"/> as Pacemaker names it: the domain stripped again.</summary>
    public string PacemakerName(string novaHost) =>
        Domain is not null && novaHost.EndsWith("." + Domain, StringComparison.OrdinalIgnoreCase)
            ? novaHost[..^(Domain.Length + 1)]
            : novaHost;

    private static string? ReadHost(AgentInput input, string? domain, List<string> errors)
    {
        var name = input["port"] ?? input["plug"] ?? input["nodename"];
        if (name is null)
        {
            return null;
        }
        if (!HostPattern().IsMatch(name))
        {
            errors.Add($"port/plug: '{Shown.Value(name)}' is not a host name");
            return null;
        }
        return domain is not null && !name.Contains('.', StringComparison.Ordinal) ? $"{name}.{domain}" : name;
    }

    private static List<Uri> ReadServers(string? value, List<string> errors)
    {
        var servers = new List<Uri>();
        if (value is null)
        {
            errors.Add("server: required: the evacuationd daemon URLs, comma separated (e.g. server=https://10.0.0.5:50443,https://10.0.0.6:50443)");
            return servers;
        }
        foreach (var text in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || string.IsNullOrEmpty(uri.Host))
            {
                errors.Add($"server: '{Shown.Value(text)}' is not an https:// (or, for a development daemon, http://) URL");
            }
            else if (!servers.Contains(uri))
            {
                servers.Add(uri);
            }
        }
        if (servers.Count == 0 && errors.Count == 0)
        {
            errors.Add("server: no URL given");
        }
        return servers;
    }

    private static TimeSpan ReadTimeout(string? value, List<string> errors)
    {
        if (value is null)
        {
            return TimeSpan.FromSeconds(AgentParameters.DefaultTimeoutSeconds);
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && seconds > 0
            && seconds <= MaxTimeout.TotalSeconds)
        {
            return TimeSpan.FromSeconds(seconds);
        }
        errors.Add($"timeout: '{Shown.Value(value)}' is not a number of seconds between 0 and {MaxTimeout.TotalSeconds:0}");
        return TimeSpan.FromSeconds(AgentParameters.DefaultTimeoutSeconds);
    }

    private static bool ReadFlag(AgentInput input, string name, List<string> errors)
    {
        var value = input[name];
        switch (value?.ToLowerInvariant())
        {
            case null or "0" or "false" or "no" or "off":
                return false;
            case "1" or "true" or "yes" or "on":
                return true;
            default:
                errors.Add($"{name}: '{Shown.Value(value)}' is not a boolean (1/0, true/false, yes/no, on/off)");
                return false;
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")]
    private static partial Regex DomainPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")]
    private static partial Regex HostPattern();
}
