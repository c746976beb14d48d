using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Commands;

/// <summary><c>fence HOST --confirm-powered-off [--reason TEXT]</c>: an operator-reported fence.</summary>
internal static class FenceCommand
{
    public const string ConfirmRequired =
        "an operator fence requires --confirm-powered-off: check that the host is powered off " +
        "(e.g. on its BMC) before reporting it fenced; its instances will be rebuilt elsewhere";

    public static Command Build(CliServices services)
    {
        var host = Arguments.Host();
        var confirm = new Option<bool>("--confirm-powered-off")
        {
            Description = "Confirm that HOST is powered off (required)",
        };
        var reason = Arguments.Reason();
        var command = new Command("fence", "Report that a host is fenced (powered off) and evacuate its instances")
        {
            host, confirm, reason,
        };
        command.Validators.Add(result =>
        {
            if (!result.GetValue(confirm))
            {
                result.AddError(ConfirmRequired);
            }
        });

        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var name = parse.GetRequiredValue(host);
            var request = new FenceHostRequest
            {
                Host = name,
                ConfirmPoweredOff = parse.GetValue(confirm),
                Reason = parse.GetValue(reason) ?? string.Empty,
            };
            var response = await context.Daemons.CallAsync(
                $"fence {name}", (c, o) => c.FenceHostAsync(request, o), cancellationToken).ConfigureAwait(false);
            ActionOutput.WriteFence(context.Output, response);
            // A stale answer means the report was ignored: nothing was fenced.
            return response.Outcome == FenceOutcome.Stale ? ExitCodes.Failed : ExitCodes.Success;
        });
        return command;
    }
}
