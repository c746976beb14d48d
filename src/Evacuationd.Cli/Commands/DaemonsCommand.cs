using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Commands;

/// <summary><c>daemons</c>: the live daemons, their lease, and how many records each owns.</summary>
internal static class DaemonsCommand
{
    public static Command Build(CliServices services)
    {
        var command = new Command("daemons", "List the live daemons, their lease and the records each owns");
        CommandRunner.SetBody(command, services, async (_, context, cancellationToken) =>
        {
            var response = await context.Daemons.CallAsync(
                "list daemons", (c, o) => c.ListDaemonsAsync(new ListDaemonsRequest(), o), cancellationToken).ConfigureAwait(false);
            DaemonOutput.WriteList(context.Output, response.Daemons);
            return ExitCodes.Success;
        });
        return command;
    }
}
