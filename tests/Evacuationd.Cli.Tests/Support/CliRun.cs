using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>What one evacctl run printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Stdout);
        return document.RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

/// <summary>Runs <see cref="CliApp.RunAsync"/> with captured output and a fixed clock.</summary>
internal static class CliRun
{
    public static readonly DateTimeOffset Now = CannedData.Base;

    /// <summary>Terminal width of the "terminal" environments: wide enough that no line wraps.</summary>
    public const int TerminalWidth = 200;

    /// <summary>The environment of a run: no colours (NO_COLOR) unless <paramref name="colour"/>.</summary>
    public static CliEnvironment Environment(bool terminal = false, IDictionary<string, string>? variables = null, bool colour = false)
    {
        var vars = new Dictionary<string, string>(variables ?? new Dictionary<string, string>());
        if (!colour)
        {
            vars["NO_COLOR"] = "1";
        }

        return new CliEnvironment
        {
            StdoutIsTerminal = terminal,
            Variables = vars,
            Clock = new FakeTimeProvider(Now),
            TerminalWidth = terminal ? TerminalWidth : null,
        };
    }

    /// <summary>A terminal that cannot redraw (TERM=dumb): plain lines.</summary>
    public static CliEnvironment DumbTerminal() =>
        Environment(terminal: true, variables: new Dictionary<string, string> { ["TERM"] = "dumb" });

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(Environment(), args);

    public static async Task<CliResult> RunAsync(CliEnvironment environment, params string[] args)
    {
        using var stdout = new StringWriter();
        return await RunAsync(environment, stdout, args);
    }

    /// <summary>Runs with stdout going to <paramref name="stdout"/> (e.g. a <see cref="ScreenWriter"/> the test watches).</summary>
    public static async Task<CliResult> RunAsync(CliEnvironment environment, TextWriter stdout, params string[] args)
    {
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, environment);
        return new CliResult(code, stdout.ToString() ?? "", stderr.ToString());
    }

    /// <summary>Runs against one daemon (<c>--server URL</c> first).</summary>
    public static Task<CliResult> AgainstAsync(TestDaemon daemon, params string[] args) =>
        RunAsync(Environment(), ["--server", daemon.Address, .. args]);

    public static Task<CliResult> AgainstAsync(TestDaemon daemon, CliEnvironment environment, params string[] args) =>
        RunAsync(environment, ["--server", daemon.Address, .. args]);
}

/// <summary>Runs <c>evacctl fence-agent</c> the way the fencer does: key=value lines on stdin.</summary>
internal static class AgentRun
{
    public static CliEnvironment Environment(string stdin, TimeProvider? clock = null) => new()
    {
        Variables = new Dictionary<string, string>(),
        Clock = clock ?? TimeProvider.System,
        Stdin = () => new StringReader(stdin),
        HostName = "node1",
    };

    /// <summary>The agent with <paramref name="lines"/> on stdin (joined with newlines).</summary>
    public static Task<CliResult> StdinAsync(params string[] lines) => StdinAsync(TimeProvider.System, lines);

    public static Task<CliResult> StdinAsync(TimeProvider clock, params string[] lines) =>
        CliRun.RunAsync(Environment(string.Join('\n', lines) + "\n", clock), "fence-agent");

    /// <summary>The agent with flags on the command line (stdin ignored).</summary>
    public static Task<CliResult> FlagsAsync(params string[] flags) =>
        CliRun.RunAsync(Environment("action=off\n"), ["fence-agent", .. flags]);
}
