using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using Evacuationd.Agent.Adapters;
using Evacuationd.Agent.Decisions;
using Evacuationd.Agent.Ports;
using Evacuationd.Cli;
using Evacuationd.Cli.Connection;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.CommandLine;

/// <summary>How log lines look on stderr.</summary>
internal enum LogFormat
{
    Auto,
    Text,
    Json,
    Systemd,
}

/// <summary>What both commands need: who we are, where the daemons are, the hypervisor, logging.</summary>
internal sealed record CommonSettings(
    string Host,
    IReadOnlyList<Uri> Servers,
    string? Ca,
    string? Cert,
    string? Key,
    TimeSpan Timeout,
    string Hypervisor,
    VirshSettings Virsh,
    LogFormat LogFormat,
    LogLevel LogLevel);

internal sealed record RunSettings(CommonSettings Common, TimeSpan Interval, IReadOnlyList<SelfCheckSpec> Checks, ReleaseMode Release, TimeSpan ReleaseTimeout);

internal sealed record GateCommandSettings(CommonSettings Common, TimeSpan Wait, TimeSpan Poll);

/// <summary>
/// Reads the settings of a command from its options and the optional <c>--config</c> file
/// (options win), checks them all, and throws one <see cref="UsageException"/> naming every
/// bad option (or file key) at once.
/// </summary>
internal sealed partial class AgentSettings
{
    private static readonly string[] FileKeys =
    [
        "host", "server", "ca", "cert", "key", "timeout", "hypervisor", "virsh", "libvirt-uri", "hypervisor-timeout",
        "log-format", "log-level", "interval", "check", "check-timeout", "release", "release-timeout", "wait", "poll",
    ];

    private readonly ParseResult parse;
    private readonly ConfigFile? file;
    private readonly List<string> errors = [];

    private AgentSettings(ParseResult parse, ConfigFile? file)
    {
        this.parse = parse;
        this.file = file;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$", RegexOptions.CultureInvariant)]
    private static partial Regex HostName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex CheckName();

    public static RunSettings ReadRun(ParseResult parse, RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(options);
        var reader = Open(parse, options.Common);
        var common = reader.ReadCommon(options.Common);
        var interval = reader.Duration(options.Interval, Defaults.Interval, allowZero: false);
        var checkTimeout = reader.Duration(options.CheckTimeout, Defaults.CheckTimeout, allowZero: false);
        var checks = reader.Checks(options.Check, checkTimeout);
        var release = reader.Choice(options.Release, ReleaseMode.Auto, ("auto", ReleaseMode.Auto), ("off", ReleaseMode.Off));
        var releaseTimeout = reader.Duration(options.ReleaseTimeout, Defaults.ReleaseTimeout, allowZero: false);
        reader.ThrowIfErrors();
        return new RunSettings(common!, interval, checks, release, releaseTimeout);
    }

    public static GateCommandSettings ReadGate(ParseResult parse, GateOptions options)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(options);
        var reader = Open(parse, options.Common);
        var common = reader.ReadCommon(options.Common);
        var wait = reader.Duration(options.Wait, Defaults.Wait, allowZero: true);
        var poll = reader.Duration(options.Poll, Defaults.Poll, allowZero: false);
        reader.ThrowIfErrors();
        return new GateCommandSettings(common!, wait, poll);
    }

    private static AgentSettings Open(ParseResult parse, CommonOptions options)
    {
        var path = parse.GetValue(options.Config);
        return new AgentSettings(parse, path is null ? null : ConfigFile.Load(path, FileKeys));
    }

    private CommonSettings? ReadCommon(CommonOptions options)
    {
        var host = String(options.Host);
        if (host is null)
        {
            errors.Add("--host is required: this compute host's name as Nova knows it");
        }
        else if (!HostName().IsMatch(host))
        {
            errors.Add($"{Where(options.Host)}: '{Shown.Value(host)}' is not a host name");
        }

        var serverValues = List(options.Server);
        IReadOnlyList<Uri> servers = [];
        if (serverValues.Count == 0)
        {
            errors.Add("--server is required: the URL of at least one evacuationd daemon");
        }
        else
        {
            try
            {
                servers = ServerList.Resolve(serverValues, environment: null);
            }
            catch (UsageException e)
            {
                errors.Add(file is not null && parse.GetResult(options.Server) is null ? $"{e.Message} (in {file.Path})" : e.Message);
            }
        }

        var ca = FilePath(options.Ca);
        var cert = FilePath(options.Cert);
        var key = FilePath(options.Key);
        if (servers.Any(s => s.Scheme == Uri.UriSchemeHttps) && (cert is null || key is null))
        {
            errors.Add("--cert and --key are required for https:// daemons: the agent's client certificate (OU=agent, CN=<host>) and its key");
        }

        var timeout = Duration(options.Timeout, Defaults.Timeout, allowZero: false);
        var hypervisor = Choice(options.Hypervisor, "virsh", ("virsh", "virsh"), ("none", "none"));
        var virsh = new VirshSettings(
            String(options.Virsh) ?? "virsh",
            String(options.LibvirtUri),
            Duration(options.HypervisorTimeout, Defaults.HypervisorTimeout, allowZero: false));
        var format = Choice(options.LogFormat, LogFormat.Auto,
            ("auto", LogFormat.Auto), ("text", LogFormat.Text), ("json", LogFormat.Json), ("systemd", LogFormat.Systemd));
        var level = Choice(options.LogLevel, LogLevel.Information,
            ("debug", LogLevel.Debug), ("information", LogLevel.Information), ("info", LogLevel.Information),
            ("warning", LogLevel.Warning), ("error", LogLevel.Error));
        return host is null ? null : new CommonSettings(host, servers, ca, cert, key, timeout, hypervisor, virsh, format, level);
    }

    private void ThrowIfErrors()
    {
        if (errors.Count > 0)
        {
            throw new UsageException(string.Join(Environment.NewLine, errors));
        }
    }

    /// <summary>"--interval", or "\"interval\" in /etc/evacuationd/agent.json" when the value came from the file.</summary>
    private string Where(Option option) =>
        parse.GetResult(option) is null && file is not null && file.TryGet(Key(option), out _)
            ? $"\"{Key(option)}\" in {file.Path}"
            : option.Name;

    private static string Key(Option option) => option.Name.TrimStart('-');

    private string? String(Option<string> option)
    {
        if (parse.GetValue(option) is { } given)
        {
            return given;
        }

        if (file is null || !file.TryGet(Key(option), out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        errors.Add($"{Where(option)} must be a string, not {value.ValueKind}");
        return null;
    }

    private string? FilePath(Option<string> option)
    {
        var value = String(option);
        return value is not null && file is not null && parse.GetResult(option) is null ? file.ResolvePath(value) : value;
    }

    /// <summary>Every value given (repeated options, or a string or array of strings in the file).</summary>
    private List<string> List(Option<string[]> option)
    {
        if (parse.GetValue(option) is { Length: > 0 } given)
        {
            return [.. given];
        }

        if (file is null || !file.TryGet(Key(option), out var value))
        {
            return [];
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return [value.GetString()!];
        }

        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String))
        {
            return value.EnumerateArray().Select(v => v.GetString()!).ToList();
        }

        errors.Add($"{Where(option)} must be a string or an array of strings");
        return [];
    }

    private TimeSpan Duration(Option<string> option, TimeSpan fallback, bool allowZero)
    {
        string? text;
        if (parse.GetValue(option) is { } given)
        {
            text = given;
        }
        else if (file is not null && file.TryGet(Key(option), out var value))
        {
            text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            };
        }
        else
        {
            return fallback;
        }

        if (Durations.TryParse(text, out var duration) && (allowZero || duration > TimeSpan.Zero))
        {
            return duration;
        }

        errors.Add($"{Where(option)}: '{Shown.Value(text)}' is not a{(allowZero ? "" : " positive")} duration (e.g. 500ms, 10s, 5m, or seconds)");
        return fallback;
    }

    private T Choice<T>(Option<string> option, T fallback, params (string Name, T Value)[] choices)
    {
        var text = String(option);
        if (text is null)
        {
            return fallback;
        }

        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        errors.Add($"{Where(option)}: '{Shown.Value(text)}' is not one of {string.Join(", ", choices.Select(c => c.Name).Distinct())}");
        return fallback;
    }

    private List<SelfCheckSpec> Checks(Option<string[]> option, TimeSpan timeout)
    {
        var checks = new List<SelfCheckSpec>();
        if (parse.GetValue(option) is { Length: > 0 } given)
        {
            foreach (var text in given)
            {
                AddCheck(checks, option.Name, text, timeout);
            }
        }
        else if (file is not null && file.TryGet(Key(option), out var value))
        {
            var where = Where(option);
            if (value.ValueKind != JsonValueKind.Array)
            {
                errors.Add($"{where} must be an array of \"NAME=COMMAND\" strings or {{\"name\", \"command\", \"timeout\"}} objects");
                return checks;
            }

            foreach (var entry in value.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.String)
                {
                    AddCheck(checks, where, entry.GetString()!, timeout);
                }
                else if (entry.ValueKind == JsonValueKind.Object)
                {
                    AddCheck(checks, where, entry, timeout);
                }
                else
                {
                    errors.Add($"{where}: {entry.GetRawText()} is neither \"NAME=COMMAND\" nor {{\"name\", \"command\", \"timeout\"}}");
                }
            }
        }

        foreach (var duplicate in checks.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"{Where(option)}: the self-check name '{Shown.Value(duplicate.Key)}' is used twice");
        }

        return checks;
    }

    private void AddCheck(List<SelfCheckSpec> checks, string where, string text, TimeSpan timeout)
    {
        var split = text.IndexOf('=', StringComparison.Ordinal);
        if (split <= 0 || text[(split + 1)..].Trim().Length == 0)
        {
            errors.Add($"{where}: '{Shown.Value(text)}' is not NAME=COMMAND");
            return;
        }

        AddCheck(checks, where, text[..split].Trim(), text[(split + 1)..].Trim(), timeout);
    }

    private void AddCheck(List<SelfCheckSpec> checks, string where, JsonElement entry, TimeSpan timeout)
    {
        var name = entry.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var command = entry.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (name is null || command is null || command.Trim().Length == 0)
        {
            errors.Add($"{where}: {entry.GetRawText()} needs a \"name\" and a \"command\" (strings)");
            return;
        }

        if (entry.TryGetProperty("timeout", out var t))
        {
            var text = t.ValueKind == JsonValueKind.String ? t.GetString() : t.GetRawText();
            if (!Durations.TryParse(text, out timeout) || timeout <= TimeSpan.Zero)
            {
                errors.Add($"{where}: self-check '{Shown.Value(name)}': timeout '{Shown.Value(text)}' is not a positive duration");
                return;
            }
        }

        foreach (var property in entry.EnumerateObject().Where(p => p.Name is not ("name" or "command" or "timeout")))
        {
            errors.Add($"{where}: self-check '{Shown.Value(name)}': unknown key \"{Shown.Value(property.Name)}\"");
        }

        AddCheck(checks, where, name.Trim(), command.Trim(), timeout);
    }

    private void AddCheck(List<SelfCheckSpec> checks, string where, string name, string command, TimeSpan timeout)
    {
        if (!CheckName().IsMatch(name))
        {
            errors.Add($"{where}: '{Shown.Value(name)}' is not a self-check name (letters, digits, '.', '_', '-')");
            return;
        }

        checks.Add(new SelfCheckSpec(name, command, timeout));
    }
}
