using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Commands;

/// <summary>
/// <c>retry ID</c>, <c>cancel ID</c>: requests that the daemon owning the record applies
/// (the answer is the record as it is when the request was stored); <c>hold</c>, <c>resume</c>.
/// </summary>
internal static class ActionCommands
{
    public static Command BuildRetry(CliServices services) => RecordAction(
        services, "retry", "Ask for new attempts of a failed, skipped or cancelled record", (c, r, o) => c.RetryRecordAsync(r, o));

    public static Command BuildCancel(CliServices services) => RecordAction(
        services, "cancel", "Ask to cancel a record that has not ended (it ends once no attempt is in flight)", (c, r, o) => c.CancelRecordAsync(r, o));

    public static Command BuildHold(CliServices services)
    {
        var reason = Arguments.Reason();
        var command = new Command("hold", "Pause automatic evacuation everywhere (new fencings are held, no new attempt starts)") { reason };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new HoldRequest { Reason = parse.GetValue(reason) ?? string.Empty };
            var answer = await context.Daemons.CallAsync("hold", (c, o) => c.HoldAsync(request, o), cancellationToken).ConfigureAwait(false);
            ActionOutput.WriteHold(context.Output, answer);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command BuildResume(CliServices services)
    {
        var reason = Arguments.Reason();
        var command = new Command("resume", "Resume automatic evacuation; every held host goes on") { reason };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new ResumeRequest { Reason = parse.GetValue(reason) ?? string.Empty };
            var answer = await context.Daemons.CallAsync("resume", (c, o) => c.ResumeAsync(request, o), cancellationToken).ConfigureAwait(false);
            ActionOutput.WriteResume(context.Output, answer);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RecordAction(
        CliServices services,
        string name,
        string description,
        Func<Operator.OperatorClient, RecordActionRequest, CallOptions, AsyncUnaryCall<Record>> call)
    {
        var id = Arguments.RecordId();
        var reason = Arguments.Reason();
        var command = new Command(name, description) { id, reason };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new RecordActionRequest { Id = parse.GetRequiredValue(id), Reason = parse.GetValue(reason) ?? string.Empty };
            var record = await context.Daemons.CallAsync(
                $"{name} {request.Id}", (c, o) => call(c, request, o), cancellationToken).ConfigureAwait(false);
            ActionOutput.WriteRecordRequest(context.Output, name, record);
            return ExitCodes.Success;
        });
        return command;
    }
}
