using System.CommandLine;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Commands;

/// <summary><c>retry ID</c>, <c>cancel ID</c>, <c>hold</c>, <c>resume</c>.</summary>
internal static class ActionCommands
{
    public static Command BuildRetry(CliServices services) => RecordAction(
        services, "retry", "Start a new attempt of a failed record", (c, r, o) => c.RetryRecordAsync(r, o));

    public static Command BuildCancel(CliServices services) => RecordAction(
        services, "cancel", "Cancel a record that has no attempt in flight", (c, r, o) => c.CancelRecordAsync(r, o));

    public static Command BuildHold(CliServices services)
    {
        var reason = Arguments.Reason();
        var command = new Command("hold", "Pause automatic evacuation everywhere") { reason };
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
        var command = new Command("resume", "Resume automatic evacuation") { reason };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new ResumeRequest { Reason = parse.GetValue(reason) ?? string.Empty };
            var answer = await context.Daemons.CallAsync("resume", (c, o) => c.ResumeAsync(request, o), cancellationToken).ConfigureAwait(false);
            ActionOutput.WriteHold(context.Output, answer);
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
            RecordOutput.WriteOne(context.Output, record);
            return ExitCodes.Success;
        });
        return command;
    }
}
