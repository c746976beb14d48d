using System.CommandLine;
using System.Reflection;
using Evacuationd.Agent.Adapters;
using Evacuationd.Agent.CommandLine;
using Evacuationd.Agent.Ports;
using Evacuationd.Agent.Work;
using Evacuationd.Cli;
using Evacuationd.Cli.Connection;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent;

/// <summary>evacuationd-agent, the compute-node agent. <see cref="RunAsync"/> is the whole program.</summary>
internal static class AgentApp
{
    public const string Name = "evacuationd-agent";

    /// <summary>How long a signalled command gets to stop before the process ends anyway.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    public static string Version { get; } =
        typeof(AgentApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(AgentApp).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    /// <summary>Parses <paramref name="args"/>, runs the command, returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        AgentEnvironment environment,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);

        var root = BuildRootCommand(stderr, environment);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await stderr.WriteLineAsync($"{Name}: {Shown.Line(error.Message)}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync($"Run '{Name} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = environment.HandleProcessTermination ? StopGrace : null,
        };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    public static RootCommand BuildRootCommand(TextWriter stderr, AgentEnvironment environment)
    {
        var root = new RootCommand(
            $"{Name}: the evacuationd agent on an OpenStack compute node. It checks in with the evacuationd daemons, " +
            "destroys local guests that were evacuated away (split-brain guard), runs self-checks, " +
            "holds nova-compute until it may start (gate), and asks for the host's release once it is clean.");

        var run = new RunOptions();
        var runCommand = new Command("run", "Check in every interval: split-brain guard, self-checks, host release. Runs until SIGTERM or Ctrl+C");
        foreach (var option in run.All)
        {
            runCommand.Options.Add(option);
        }

        runCommand.SetAction((parse, ct) => Guarded(stderr, () => RunAsync(AgentSettings.ReadRun(parse, run), environment, ct)));

        var gate = new GateOptions();
        var gateCommand = new Command(
            "gate",
            "The start gate of nova-compute (its ExecStartPre): split-brain guard, then wait until the daemon lets nova-compute start. " +
            "Exit 0: it may start; 1: still closed when the wait was over; 3: no daemon reachable (closed)");
        foreach (var option in gate.All)
        {
            gateCommand.Options.Add(option);
        }

        gateCommand.SetAction((parse, ct) => Guarded(stderr, () => GateAsync(AgentSettings.ReadGate(parse, gate), stderr, environment, ct)));

        root.Subcommands.Add(runCommand);
        root.Subcommands.Add(gateCommand);
        return root;
    }

    private static async Task<int> Guarded(TextWriter stderr, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            foreach (var line in e.Message.Split(Environment.NewLine))
            {
                await stderr.WriteLineAsync($"{Name}: {Shown.Line(line)}").ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }
    }

    private static async Task<int> RunAsync(RunSettings settings, AgentEnvironment environment, CancellationToken cancellationToken)
    {
        var common = settings.Common;
        using var parts = Parts.Create(common, environment, settings.ReleaseTimeout);
        var logger = parts.Logger;
        var round = new AgentRound(
            parts.Identity,
            new RoundSettings(settings.Interval, settings.Checks, settings.Release),
            parts.Daemon,
            new SplitBrainGuard(parts.Hypervisor, logger),
            new ShellSelfCheckRunner(parts.Processes),
            logger);
        var loop = new RunLoop(round, settings.Interval, environment.Clock, logger) { RoundCompleted = environment.RoundCompleted };
        logger.Started(common.Host, string.Join(", ", common.Servers.Select(s => s.OriginalString)), parts.Hypervisor.Name,
            Durations.Format(settings.Interval), settings.Checks.Count, settings.Release == Decisions.ReleaseMode.Auto ? "auto" : "off");
        await loop.RunAsync(cancellationToken).ConfigureAwait(false);
        logger.Stopping(common.Host);
        return ExitCodes.Success;
    }

    private static async Task<int> GateAsync(GateCommandSettings settings, TextWriter stderr, AgentEnvironment environment, CancellationToken cancellationToken)
    {
        var host = settings.Common.Host;
        GateResult result;
        using (var parts = Parts.Create(settings.Common, environment, Defaults.ReleaseTimeout))
        {
            var gate = new StartGate(
                parts.Identity,
                new GateSettings(settings.Wait, settings.Poll),
                parts.Daemon,
                new SplitBrainGuard(parts.Hypervisor, parts.Logger),
                environment.Clock,
                parts.Logger);
            try
            {
                result = await gate.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                result = new GateResult(GateOutcome.Closed, "interrupted");
            }
        }

        // After the log is flushed (the parts disposed): the verdict is the last line.
        var (code, line) = result.Outcome switch
        {
            GateOutcome.Open => (ExitCodes.Success, $"gate open for {host}: nova-compute may start ({result.Reason})"),
            GateOutcome.Unreachable => (ExitCodes.Unreachable, $"gate closed for {host}: {result.Reason}"),
            _ => (ExitCodes.Closed, $"gate closed for {host}: {result.Reason}"),
        };
        await stderr.WriteLineAsync($"{Name}: {Shown.Line(line)}").ConfigureAwait(false);
        return code;
    }

    /// <summary>What both commands are built from; disposing it closes the connections and flushes the log.</summary>
    private sealed class Parts : IDisposable
    {
        private readonly ILoggerFactory? ownedLogging;
        private readonly DaemonClient daemons;

        private Parts(ILoggerFactory? ownedLogging, ILogger logger, DaemonClient daemons, AgentIdentity identity, IAgentDaemon daemon, ProcessRunner processes, IHypervisor hypervisor)
        {
            this.ownedLogging = ownedLogging;
            this.daemons = daemons;
            Logger = logger;
            Identity = identity;
            Daemon = daemon;
            Processes = processes;
            Hypervisor = hypervisor;
        }

        public ILogger Logger { get; }
        public AgentIdentity Identity { get; }
        public IAgentDaemon Daemon { get; }
        public ProcessRunner Processes { get; }
        public IHypervisor Hypervisor { get; }

        /// <summary>Throws <see cref="UsageException"/> for TLS files that cannot be used.</summary>
        public static Parts Create(CommonSettings settings, AgentEnvironment environment, TimeSpan releaseTimeout)
        {
            var tls = TlsSettings.Load(settings.Ca, settings.Cert, settings.Key, settings.Servers);
            var connect = settings.Timeout < TimeSpan.FromSeconds(3) ? settings.Timeout : TimeSpan.FromSeconds(3);
            var daemons = new DaemonClient(settings.Servers, new ChannelFactory(tls, connect), settings.Timeout);
            var owned = environment.Logging is null ? LogSetup.Create(LogSetup.Resolve(settings.LogFormat, environment), settings.LogLevel) : null;
            var logger = (environment.Logging ?? owned!).CreateLogger("Evacuationd.Agent");
            var processes = new ProcessRunner(environment.Clock);
            var hypervisor = environment.Hypervisor?.Invoke(settings) ?? settings.Hypervisor switch
            {
                "none" => new NoHypervisor(),
                _ => (IHypervisor)new VirshHypervisor(processes, settings.Virsh),
            };
            var identity = new AgentIdentity(settings.Host, Version, environment.BootTime());
            return new Parts(owned, logger, daemons, identity, new GrpcAgentDaemon(daemons, settings.Timeout, releaseTimeout), processes, hypervisor);
        }

        public void Dispose()
        {
            daemons.Dispose();
            ownedLogging?.Dispose();
        }
    }
}
