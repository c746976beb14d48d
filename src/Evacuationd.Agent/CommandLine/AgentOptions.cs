using System.CommandLine;

namespace Evacuationd.Agent.CommandLine;

/// <summary>Defaults of the agent's options.</summary>
internal static class Defaults
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A daemon answers a release only once Nova took the host back, or gave up waiting (20 s): more than that.</summary>
    public static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan HypervisorTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(300);
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);
}

/// <summary>The options <c>run</c> and <c>gate</c> share (one instance per command).</summary>
internal sealed class CommonOptions
{
    public Option<string> Config { get; } = new("--config")
    {
        Description = "JSON file with any of these options, keyed by the option's name without dashes (\"host\", \"server\", \"check-timeout\", ...); options given here win",
        HelpName = "FILE",
    };

    public Option<string> Host { get; } = new("--host")
    {
        Description = "This compute host's name as Nova knows it (nova.conf [DEFAULT] host); the CN of the agent's certificate. Required",
        HelpName = "NAME",
    };

    public Option<string[]> Server { get; } = new("--server", "-s")
    {
        Description = "Daemon URL; repeat or comma-separate for failover. Required",
        HelpName = "URL",
    };

    public Option<string> Ca { get; } = new("--ca")
    {
        Description = "PEM file of the CA(s) to trust for https:// daemons (only these)",
        HelpName = "FILE",
    };

    public Option<string> Cert { get; } = new("--cert")
    {
        Description = "PEM client certificate (OU=agent, CN=<host>); required for https:// daemons",
        HelpName = "FILE",
    };

    public Option<string> Key { get; } = new("--key")
    {
        Description = "PEM private key of --cert",
        HelpName = "FILE",
    };

    public Option<string> Timeout { get; } = new("--timeout")
    {
        Description = $"Time each daemon gets to answer one call before the next one is tried (default {Durations.Format(Defaults.Timeout)})",
        HelpName = "DURATION",
    };

    public Option<string> Hypervisor { get; } = new("--hypervisor")
    {
        Description = "Where guests run: virsh (libvirt, the default) or none (no guests can run here)",
        HelpName = "virsh|none",
    };

    public Option<string> Virsh { get; } = new("--virsh")
    {
        Description = "The virsh program (default: virsh, looked up in PATH)",
        HelpName = "PATH",
    };

    public Option<string> LibvirtUri { get; } = new("--libvirt-uri")
    {
        Description = "libvirt connection URI for virsh -c (default: virsh's own, qemu:///system for root)",
        HelpName = "URI",
    };

    public Option<string> HypervisorTimeout { get; } = new("--hypervisor-timeout")
    {
        Description = $"Time one virsh call may take before it is killed (default {Durations.Format(Defaults.HypervisorTimeout)})",
        HelpName = "DURATION",
    };

    public Option<string> LogFormat { get; } = new("--log-format")
    {
        Description = "Log lines on stderr: text, json, systemd (journald priorities), or auto (the default: text on a terminal, systemd under journald, else json)",
        HelpName = "FORMAT",
    };

    public Option<string> LogLevel { get; } = new("--log-level")
    {
        Description = "Least important log events shown: debug, information (the default), warning, error",
        HelpName = "LEVEL",
    };

    public IEnumerable<Option> All =>
        [Config, Host, Server, Ca, Cert, Key, Timeout, Hypervisor, Virsh, LibvirtUri, HypervisorTimeout, LogFormat, LogLevel];
}

/// <summary>The options of <c>run</c> only.</summary>
internal sealed class RunOptions
{
    public CommonOptions Common { get; } = new();

    public Option<string> Interval { get; } = new("--interval")
    {
        Description = $"Time between check-ins, unless the daemon asks for another (default {Durations.Format(Defaults.Interval)})",
        HelpName = "DURATION",
    };

    public Option<string[]> Check { get; } = new("--check")
    {
        Description = "A self-check: NAME=COMMAND, run with /bin/sh -c every round; passes when it exits 0 within --check-timeout. Repeatable",
        HelpName = "NAME=COMMAND",
    };

    public Option<string> CheckTimeout { get; } = new("--check-timeout")
    {
        Description = $"Time a self-check may take before it is killed and fails (default {Durations.Format(Defaults.CheckTimeout)})",
        HelpName = "DURATION",
    };

    public Option<string> Release { get; } = new("--release")
    {
        Description = "auto (the default): ask the daemon to put the host back into service once its fencing ended and no evacuated guest runs here; off: leave that to an operator",
        HelpName = "auto|off",
    };

    public Option<string> ReleaseTimeout { get; } = new("--release-timeout")
    {
        Description = $"Time a daemon gets to answer a release request, which waits for Nova to take the host back (default {Durations.Format(Defaults.ReleaseTimeout)})",
        HelpName = "DURATION",
    };

    public IEnumerable<Option> All => [.. Common.All, Interval, Check, CheckTimeout, Release, ReleaseTimeout];
}

/// <summary>The options of <c>gate</c> only.</summary>
internal sealed class GateOptions
{
    public CommonOptions Common { get; } = new();

    public Option<string> Wait { get; } = new("--wait")
    {
        Description = $"How long to wait for the gate to open before giving up, non-zero exit (default {Durations.Format(Defaults.Wait)}; 0 asks once)",
        HelpName = "DURATION",
    };

    public Option<string> Poll { get; } = new("--poll")
    {
        Description = $"Time between attempts while the gate is closed (default {Durations.Format(Defaults.Poll)})",
        HelpName = "DURATION",
    };

    public IEnumerable<Option> All => [.. Common.All, Wait, Poll];
}
