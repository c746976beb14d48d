using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Commands;

/// <summary><c>hosts</c>, <c>confirm HOST</c>, <c>release-host HOST</c>.</summary>
internal static class HostCommands
{
    public static Command BuildHosts(CliServices services)
    {
        var command = new Command("hosts", "List hosts with a fencing/evacuation state");
        CommandRunner.SetBody(command, services, async (_, context, cancellationToken) =>
        {
            var response = await context.Daemons.CallAsync(
                "list hosts", (c, o) => c.ListHostsAsync(new ListHostsRequest(), o), cancellationToken).ConfigureAwait(false);
            HostOutput.WriteList(context.Output, response.Hosts);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command BuildConfirm(CliServices services) => HostAction(
        services,
        "confirm",
        "Release a host held by the blast-radius guard or a hold: its evacuation starts",
        "confirm",
        (client, request, options) => client.ConfirmHostAsync(request, options),
        HostOutput.WriteConfirmed);

    public static Command BuildReleaseHost(CliServices services) => HostAction(
        services,
        "release-host",
        "Put a recovered host back into service (normally done by its agent)",
        "release host",
        (client, request, options) => client.ReleaseHostAsync(request, options),
        HostOutput.WriteReleased);

    private static Command HostAction(
        CliServices services,
        string name,
        string description,
        string verb,
        Func<Operator.OperatorClient, HostRequest, Grpc.Core.CallOptions, Grpc.Core.AsyncUnaryCall<Host>> call,
        Action<OutputContext, Host> write)
    {
        var host = Arguments.Host();
        var reason = Arguments.Reason();
        var command = new Command(name, description) { host, reason };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new HostRequest { Host = parse.GetRequiredValue(host), Reason = parse.GetValue(reason) ?? string.Empty };
            var answer = await context.Daemons.CallAsync(
                $"{verb} {request.Host}", (c, o) => call(c, request, o), cancellationToken).ConfigureAwait(false);
            write(context.Output, answer);
            return ExitCodes.Success;
        });
        return command;
    }
}
