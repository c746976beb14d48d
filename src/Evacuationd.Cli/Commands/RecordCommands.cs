using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Commands;

/// <summary><c>list [--host H] [--state S]</c> and <c>show ID|INSTANCE_UUID</c>.</summary>
internal static class RecordCommands
{
    public static Command BuildList(CliServices services)
    {
        var host = Arguments.HostFilter();
        var states = Text.EnumValues<RecordState>();
        var state = new Option<string>("--state")
        {
            Description = "Only records in this state",
            HelpName = "STATE",
        };
        state.AcceptOnlyFromAmong([.. states.Keys]);
        var command = new Command("list", "List evacuation records") { host, state };

        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new ListRecordsRequest { Host = parse.GetValue(host) ?? string.Empty };
            if (parse.GetValue(state) is { } name)
            {
                request.State = states[name];
            }

            var records = await ListAllAsync(context, request, cancellationToken).ConfigureAwait(false);
            RecordOutput.WriteList(context.Output, records);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command BuildShow(CliServices services)
    {
        var id = new Argument<string>("ID")
        {
            Description = "Record id, or an instance uuid (its newest record)",
        };
        var command = new Command("show", "Show one record with its history and reasons") { id };

        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var key = parse.GetRequiredValue(id);
            var record = await context.Daemons.CallAsync(
                $"show {key}", (c, o) => c.GetRecordAsync(new GetRecordRequest { Id = key }, o), cancellationToken).ConfigureAwait(false);
            RecordOutput.WriteDetail(context.Output, record);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Follows next_page_token until the last page.</summary>
    private static async Task<List<Record>> ListAllAsync(CommandContext context, ListRecordsRequest request, CancellationToken cancellationToken)
    {
        var records = new List<Record>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var page = await context.Daemons.CallAsync(
                "list records", (c, o) => c.ListRecordsAsync(request, o), cancellationToken).ConfigureAwait(false);
            records.AddRange(page.Records);
            if (page.NextPageToken.Length == 0)
            {
                return records;
            }

            if (!seen.Add(page.NextPageToken))
            {
                throw new DaemonCallException(
                    "list records",
                    context.Daemons.Current,
                    new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, $"the daemon returned page token '{page.NextPageToken}' twice"));
            }

            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }
    }
}
