using System.Xml.Linq;

namespace Evacuationd.Cli.FenceAgent;

/// <summary>
/// One parameter of the fence agent, as the fence-agents metadata declares it: its stdin
/// name, its command-line flags, and what it means.
/// </summary>
/// <param name="Flags">Command-line spellings, e.g. <c>-o</c>, <c>--action</c>.</param>
/// <param name="Type">Metadata content type: string, second, boolean.</param>
internal sealed record AgentParameter(
    string Name,
    string[] Flags,
    string Type,
    string? Default,
    bool Required,
    string Description,
    string? Obsoletes = null,
    bool Deprecated = false)
{
    public bool IsFlag => Type == "boolean";
}

/// <summary>
/// The parameters of fence_evacuationd: the fence-agents standard ones Pacemaker passes
/// (action, port/plug, nodename) and ours. The one table behind parsing, <c>--help</c> and
/// the metadata XML, so they cannot disagree.
/// </summary>
internal static class AgentParameters
{
    public const string AgentName = "fence_evacuationd";

    public const int DefaultTimeoutSeconds = 20;

    public static readonly IReadOnlyList<AgentParameter> All =
    [
        new("action", ["-o", "--action"], "string", "reboot", true,
            "Fencing action: off/reboot report the host fenced, on reports it powered on, monitor/status check the daemon, list, metadata, validate-all"),
        new("plug", ["-n", "--plug"], "string", null, false,
            "Host to act on (as Pacemaker passes it; see pcmk_host_map and domain)", Obsoletes: "port"),
        new("port", ["--port"], "string", null, false,
            "Host to act on (the older name of plug)", Deprecated: true),
        new("nodename", ["--nodename"], "string", null, false,
            "Node being fenced, as Pacemaker names it (used when neither port nor plug is given)"),
        new("server", ["--server"], "string", null, true,
            "evacuationd daemon URLs, comma separated (https://host:port); each is tried in turn until one confirms"),
        new("ca_file", ["--ca-file"], "string", null, false,
            "PEM file of the CA(s) that issued the daemons' server certificates (only these are trusted)"),
        new("cert_file", ["--cert-file"], "string", null, false,
            "PEM client certificate of this agent (role fencer: OU=fencer), for mutual TLS"),
        new("key_file", ["--key-file"], "string", null, false,
            "PEM private key of cert_file"),
        new("timeout", ["--timeout"], "second", DefaultTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), false,
            "Seconds the agent may take in total, over every daemon and retry; keep it below the device's pcmk_off_timeout minus the power device's time"),
        new("domain", ["--domain"], "string", null, false,
            "DNS domain appended to a host name without a dot (Pacemaker compute-1 -> Nova compute-1.DOMAIN); stripped again in list"),
        new("verbose", ["-v", "--verbose"], "boolean", "0", false,
            "Say on stderr what each attempt did"),
        new("debug_file", ["-D", "--debug-file"], "string", null, false,
            "Also append every message to this file (a file that cannot be written is ignored)"),
    ];

    /// <summary>The actions, in metadata order; on is not automatic (we do not unfence).</summary>
    public static readonly IReadOnlyList<string> Actions = ["on", "off", "reboot", "status", "list", "monitor", "metadata", "validate-all"];

    public static AgentParameter? ByName(string name) => All.FirstOrDefault(p => p.Name == name);

    public static AgentParameter? ByFlag(string flag) => All.FirstOrDefault(p => p.Flags.Contains(flag, StringComparer.Ordinal));

    /// <summary>The fence-agents metadata document (what <c>stonith_admin --metadata</c> prints).</summary>
    public static string Metadata()
    {
        var parameters = new XElement("parameters", All.Select(p =>
        {
            var element = new XElement("parameter",
                new XAttribute("name", p.Name),
                new XAttribute("unique", "0"),
                new XAttribute("required", p.Required ? "1" : "0"));
            if (p.Obsoletes is not null)
            {
                element.Add(new XAttribute("obsoletes", p.Obsoletes));
            }
            if (p.Deprecated)
            {
                element.Add(new XAttribute("deprecated", "1"));
            }
            element.Add(
                new XElement("getopt", new XAttribute("mixed", Getopt(p))),
                p.Default is null
                    ? new XElement("content", new XAttribute("type", p.Type))
                    : new XElement("content", new XAttribute("type", p.Type), new XAttribute("default", p.Default)),
                new XElement("shortdesc", new XAttribute("lang", "en"), p.Description));
            return element;
        }));
        var actions = new XElement("actions", Actions.Select(a => a == "on"
            ? new XElement("action", new XAttribute("name", a), new XAttribute("automatic", "0"))
            : new XElement("action", new XAttribute("name", a))));
        var agent = new XElement("resource-agent",
            new XAttribute("name", AgentName),
            new XAttribute("shortdesc", "Reports fenced compute hosts to evacuationd, which rebuilds their instances elsewhere"),
            new XElement("longdesc",
                "fence_evacuationd does not cut power. Put it in the same fencing level as the host's power device, " +
                "after it (devices=\"fence-power,fence-evac\"): once the power device has fenced the host, this agent " +
                "reports the fencing to an evacuationd daemon, which records it durably in etcd and evacuates the host's " +
                "instances with Nova. off/reboot succeed only when a daemon confirmed the record; when no daemon can be " +
                "reached the fencing fails and Pacemaker retries it."),
            parameters,
            actions);
        return new XDeclaration("1.0", null, null) + Environment.NewLine + agent + Environment.NewLine;
    }

    private static string Getopt(AgentParameter p)
    {
        var value = p.IsFlag ? "" : $"=[{p.Name}]";
        return string.Join(", ", p.Flags) + value;
    }
}
