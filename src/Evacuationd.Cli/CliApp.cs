using System.CommandLine;
using Evacuationd.Cli.Commands;

namespace Evacuationd.Cli;

/// <summary>evacctl: the operator CLI of evacuationd. <see cref="RunAsync"/> is the whole program.</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/>, runs the command, and returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        CliEnvironment environment,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);

        // The fence agent speaks the fence-agents protocol (-o ACTION, -n HOST, stdin), not evacctl's.
        if (args.Length > 0 && args[0] == FenceAgent.FenceAgentProgram.Command)
        {
            ArgumentNullException.ThrowIfNull(stdout);
            return await FenceAgent.FenceAgentProgram.RunAsync(args[1..], stdout, stderr, environment, cancellationToken).ConfigureAwait(false);
        }

        var root = BuildRootCommand(stdout, stderr, environment);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await stderr.WriteLineAsync($"evacctl: {error.Message}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync("Run 'evacctl --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = environment.HandleProcessTermination ? TimeSpan.FromSeconds(2) : null,
        };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The command tree; actions print to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    public static RootCommand BuildRootCommand(TextWriter stdout, TextWriter stderr, CliEnvironment environment)
    {
        var globals = new GlobalOptions();
        var services = new CliServices(stdout, stderr, environment, globals);
        var root = new RootCommand("evacctl: operate evacuationd, the OpenStack instance-HA controller");
        foreach (var option in globals.All)
        {
            root.Options.Add(option);
        }

        Command[] commands =
        [
            FenceCommand.Build(services),
            HostCommands.BuildHosts(services),
            RecordCommands.BuildList(services),
            RecordCommands.BuildShow(services),
            WatchCommand.Build(services),
            DaemonsCommand.Build(services),
            ActionCommands.BuildRetry(services),
            ActionCommands.BuildCancel(services),
            ActionCommands.BuildHold(services),
            ActionCommands.BuildResume(services),
            HostCommands.BuildConfirm(services),
            HostCommands.BuildReleaseHost(services),
            new Command(FenceAgent.FenceAgentProgram.Command,
                "Pacemaker fence agent (installed as fence_evacuationd): fence-agents parameters as flags or key=value lines on stdin; 'evacctl fence-agent --help'"),
        ];
        foreach (var command in commands)
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
