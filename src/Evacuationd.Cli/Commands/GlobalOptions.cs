using System.CommandLine;
using System.Globalization;

namespace Evacuationd.Cli.Commands;

/// <summary>The options every command accepts (before or after the command name).</summary>
internal sealed class GlobalOptions
{
    public const double DefaultTimeoutSeconds = 30;

    public Option<string[]> Server { get; } = new("--server", "-s")
    {
        Description = $"Daemon URL; repeat or comma-separate for failover (default: ${Connection.ServerList.EnvironmentVariable}, else {Connection.ServerList.DefaultServer})",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string> Ca { get; } = new("--ca")
    {
        Description = "PEM file of the CA(s) to trust for https:// servers (only these)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string> Cert { get; } = new("--cert")
    {
        Description = "PEM client certificate for mutual TLS",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string> Key { get; } = new("--key")
    {
        Description = "PEM private key of --cert",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string> Output { get; } = new("--output", "-o")
    {
        Description = "Output format",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds to wait for a daemon's answer before trying the next one",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
        Recursive = true,
    };

    public GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("table", "json");
        Timeout.CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                && seconds > 0
                && seconds <= TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return seconds;
            }

            result.AddError($"--timeout must be a positive number of seconds, not '{text}'");
            return DefaultTimeoutSeconds;
        };
    }

    public IEnumerable<Option> All => [Server, Ca, Cert, Key, Output, Timeout];
}
