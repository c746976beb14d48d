using System.Collections;
using Evacuationd.Agent.Adapters;
using Evacuationd.Agent.CommandLine;
using Evacuationd.Agent.Ports;
using Evacuationd.Agent.Work;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent;

/// <summary>
/// What the agent takes from the process around it, so that tests can drive it in-process:
/// the clock, where logs go, the hypervisor, the machine's boot time, termination signals.
/// </summary>
internal sealed class AgentEnvironment
{
    /// <summary>Intervals, waits and timeouts run on this clock.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Where logs go; null: the console (stderr), as <c>--log-format</c> says.</summary>
    public ILoggerFactory? Logging { get; init; }

    /// <summary>Builds the hypervisor from the settings; null: the real one (<see cref="VirshHypervisor"/> or <see cref="NoHypervisor"/>).</summary>
    public Func<CommonSettings, IHypervisor>? Hypervisor { get; init; }

    /// <summary>The machine's boot time for CheckIn.</summary>
    public Func<DateTimeOffset?> BootTime { get; init; } = () => Adapters.BootTime.Read();

    /// <summary>Whether Ctrl+C / SIGTERM stop the running command (true for the real process).</summary>
    public bool HandleProcessTermination { get; init; }

    /// <summary>True when stderr is a terminal (text log lines).</summary>
    public bool StderrIsTerminal { get; init; }

    /// <summary>The environment variables (JOURNAL_STREAM).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Called after each round of <c>run</c> (tests).</summary>
    public Action<RoundReport>? RoundCompleted { get; init; }

    public string? GetVariable(string name) =>
        Variables.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    public static AgentEnvironment FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                variables[key] = value;
            }
        }

        return new AgentEnvironment
        {
            Variables = variables,
            StderrIsTerminal = !Console.IsErrorRedirected,
            HandleProcessTermination = true,
        };
    }
}
