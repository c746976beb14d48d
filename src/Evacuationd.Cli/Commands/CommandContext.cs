using System.CommandLine;
using Evacuationd.Cli.Connection;
using Evacuationd.Cli.Output;

namespace Evacuationd.Cli.Commands;

/// <summary>What every command gets: where to print and how to reach the daemons.</summary>
internal sealed class CommandContext : IDisposable
{
    private CommandContext(OutputContext output, TextWriter error, DaemonClient daemons, CliEnvironment environment)
    {
        Output = output;
        Error = error;
        Daemons = daemons;
        Environment = environment;
    }

    public OutputContext Output { get; }
    public TextWriter Error { get; }
    public DaemonClient Daemons { get; }
    public CliEnvironment Environment { get; }

    /// <summary>Reads the global options; throws <see cref="UsageException"/> for bad ones.</summary>
    public static CommandContext Create(ParseResult parse, CliServices services)
    {
        var globals = services.Globals;
        var servers = ServerList.Resolve(
            parse.GetValue(globals.Server),
            services.Environment.GetVariable(ServerList.EnvironmentVariable));
        var tls = TlsSettings.Load(parse.GetValue(globals.Ca), parse.GetValue(globals.Cert), parse.GetValue(globals.Key), servers);
        var timeout = TimeSpan.FromSeconds(parse.GetValue(globals.Timeout));
        var format = parse.GetValue(globals.Output) == "json" ? OutputFormat.Json : OutputFormat.Table;
        var output = new OutputContext(services.Stdout, format, services.Environment);
        var daemons = new DaemonClient(servers, new ChannelFactory(tls, timeout), timeout);
        return new CommandContext(output, services.Stderr, daemons, services.Environment);
    }

    public void Dispose() => Daemons.Dispose();
}

/// <summary>The process-wide things commands are built with.</summary>
internal sealed record CliServices(TextWriter Stdout, TextWriter Stderr, CliEnvironment Environment, GlobalOptions Globals);
