using System.Text;
using Evacuationd.Cli.Connection;
using Grpc.Core;

namespace Evacuationd.Cli.FenceAgent;

/// <summary>
/// <c>evacctl fence-agent</c>, installed as <c>fence_evacuationd</c>: a Pacemaker fence agent
/// (the fence-agents protocol: parameters as flags or as key=value lines on stdin; exit 0 =
/// done). It cuts no power: in the same fencing level as the power device, after it, it
/// reports the fencing to evacuationd. Its exit codes are the protocol's (0 success, 1
/// failure), not evacctl's.
/// </summary>
internal static class FenceAgentProgram
{
    public const string Command = "fence-agent";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CliEnvironment environment, CancellationToken ct)
    {
        var log = new AgentLog(stderr, environment.Clock);
        AgentInput input;
        if (args.Count > 0)
        {
            input = AgentInput.FromFlags(args);
        }
        else if (environment.Stdin?.Invoke() is { } stdin)
        {
            input = AgentInput.FromStdin(stdin);
        }
        else
        {
            log.Say("no parameters: give key=value lines on stdin (as Pacemaker does) or flags, e.g. -o monitor --server URL (see --help)");
            return ExitCodes.Failed;
        }
        if (input.Help)
        {
            await stdout.WriteAsync(Usage()).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        log.DebugFile = input["debug_file"];

        // Metadata answers whatever else came along: Pacemaker runs it with nothing configured.
        if (AgentSettings.ActionOf(input) == "metadata")
        {
            await stdout.WriteAsync(AgentParameters.Metadata()).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var (settings, errors) = AgentSettings.Read(input);
        if (settings is null)
        {
            foreach (var error in errors)
            {
                log.Say(error);
            }
            return ExitCodes.Failed;
        }
        log.Verbose = settings.Verbose;

        TlsSettings tls;
        try
        {
            tls = TlsSettings.Load(settings.CaFile, settings.CertFile, settings.KeyFile, settings.Servers, new TlsOptionNames("ca_file", "cert_file", "key_file"));
        }
        catch (UsageException e)
        {
            log.Say(e.Message);
            return ExitCodes.Failed;
        }
        if (settings.Action == "validate-all")
        {
            tls.Dispose();
            log.Detail($"parameters are valid: {settings.Servers.Count} server(s), timeout {settings.Timeout.TotalSeconds:0.#}s");
            return ExitCodes.Success;
        }

        var connect = settings.Timeout < TimeSpan.FromSeconds(3) ? settings.Timeout : TimeSpan.FromSeconds(3);
        using var daemons = new DaemonClient(settings.Servers, new ChannelFactory(tls, connect), settings.Timeout);
        var actions = new AgentActions(settings, daemons, stdout, log, environment);
        log.Detail($"action {settings.Action}{(settings.Host is null ? "" : $" for {settings.Host}")}, servers {string.Join(", ", settings.Servers.Select(s => s.OriginalString))}");
        try
        {
            return settings.Action switch
            {
                "off" => await actions.OffAsync(ct).ConfigureAwait(false),
                "on" => await actions.OnAsync(ct).ConfigureAwait(false),
                "reboot" => await actions.RebootAsync(ct).ConfigureAwait(false),
                "monitor" => await actions.MonitorAsync(status: false, ct).ConfigureAwait(false),
                "status" => await actions.MonitorAsync(status: true, ct).ConfigureAwait(false),
                "list" => await actions.ListAsync(ct).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"action {settings.Action} has no handler"),
            };
        }
        catch (AgentGaveUpException e)
        {
            log.Say($"{settings.Action} failed: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (DaemonCallException e)
        {
            log.Say($"{settings.Action} failed: {e.Server.OriginalString} refused: {e.Status.StatusCode}: {e.Status.Detail}{Hint(e.Status.StatusCode)}");
            return ExitCodes.Failed;
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            log.Say($"{settings.Action} interrupted");
            return ExitCodes.Failed;
        }
    }

    private static string Hint(StatusCode code) => code switch
    {
        StatusCode.PermissionDenied or StatusCode.Unauthenticated =>
            " (the agent's certificate, cert_file, must map to the fencer role: OU=fencer by default)",
        _ => "",
    };

    private static string Usage()
    {
        var text = new StringBuilder();
        text.AppendLine($"usage: {AgentParameters.AgentName} [options]     (or key=value lines on stdin, as Pacemaker passes them)");
        text.AppendLine("       evacctl fence-agent [options]");
        text.AppendLine();
        foreach (var p in AgentParameters.All.Where(p => !p.Deprecated))
        {
            var flags = string.Join(", ", p.Flags) + (p.IsFlag ? "" : $" {p.Name.ToUpperInvariant()}");
            text.AppendLine($"  {flags,-32} {p.Name}: {p.Description}{(p.Default is null || p.IsFlag ? "" : $" (default {p.Default})")}");
        }
        text.AppendLine();
        text.AppendLine($"actions: {string.Join(", ", AgentParameters.Actions)}");
        text.AppendLine("exit: 0 done; 1 failed (off/reboot: no daemon confirmed the durable record)");
        return text.ToString();
    }
}
