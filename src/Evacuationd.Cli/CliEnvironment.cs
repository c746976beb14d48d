using System.Collections;

namespace Evacuationd.Cli;

/// <summary>
/// What evacctl needs from the process around it, so that tests can drive it in-process:
/// whether stdout is a terminal, the environment variables, and the clock (whose
/// <see cref="TimeProvider.LocalTimeZone"/> is the zone human-readable times are shown in).
/// </summary>
public sealed class CliEnvironment
{
    /// <summary>True when stdout is an interactive terminal (human lines, colours, truncation).</summary>
    public bool StdoutIsTerminal { get; init; }

    /// <summary>The environment variables (e.g. EVACCTL_SERVER, NO_COLOR).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Clock for relative times ("in 7s") and time zone for watch lines.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Whether Ctrl+C / SIGTERM cancel the running command (true for the real process).</summary>
    public bool HandleProcessTermination { get; init; }

    /// <summary>
    /// Columns of the terminal for live displays (watch's progress bars); null asks the
    /// console. Set by tests, whose "terminal" is a captured writer.
    /// </summary>
    public int? TerminalWidth { get; init; }

    /// <summary>
    /// Standard input, when it carries data (redirected, as the fencer does for the fence
    /// agent); null when it is a terminal, so that nothing waits for typing.
    /// </summary>
    public Func<TextReader>? Stdin { get; init; }

    /// <summary>This machine's name (the fence agent reports it as the fencer's node).</summary>
    public string HostName { get; init; } = Environment.MachineName;

    /// <summary>Colours only on a terminal, and never with NO_COLOR set or TERM=dumb.</summary>
    public bool UseColor =>
        StdoutIsTerminal
        && !Variables.ContainsKey("NO_COLOR")
        && !IsDumbTerminal;

    /// <summary>
    /// A terminal that can redraw (cursor movement): live progress bars. TERM=dumb gets
    /// plain lines instead; NO_COLOR only turns colours off.
    /// </summary>
    public bool CanRedraw => StdoutIsTerminal && !IsDumbTerminal;

    private bool IsDumbTerminal => string.Equals(GetVariable("TERM"), "dumb", StringComparison.Ordinal);

    public string? GetVariable(string name) =>
        Variables.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    /// <summary>The environment of the running process.</summary>
    public static CliEnvironment FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                variables[key] = value;
            }
        }

        return new CliEnvironment
        {
            StdoutIsTerminal = !Console.IsOutputRedirected,
            Variables = variables,
            Clock = TimeProvider.System,
            HandleProcessTermination = true,
            Stdin = Console.IsInputRedirected ? () => Console.In : null,
        };
    }
}
