using System.CommandLine;
using Evacuationd.Cli.Connection;
using Evacuationd.Cli.Output;
using Evacuationd.Cli.Watch;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Commands;

/// <summary>
/// <c>watch [--host H]</c>: live progress until every watched record is terminal: progress
/// bars on a terminal that can redraw, plain lines on a dumb one (TERM=dumb), JSON lines when
/// stdout is not a terminal or with <c>-o json</c>. A broken stream is reopened on the next
/// server (which sends a fresh snapshot; repeats are not printed again on a terminal). Exit 1
/// when any record ended failed.
/// </summary>
internal static class WatchCommand
{
    public static Command Build(CliServices services)
    {
        var host = Arguments.HostFilter();
        var command = new Command("watch", "Follow evacuations live until they are done") { host };
        CommandRunner.SetBody(command, services, async (parse, context, cancellationToken) =>
        {
            var request = new WatchRecordsRequest { Host = parse.GetValue(host) ?? string.Empty, UntilDone = true };
            var sink = Sink(context);
            var summary = await sink.RunAsync(() => RunAsync(context, request, sink, cancellationToken)).ConfigureAwait(false);
            sink.End(summary);
            return summary.Failed > 0 ? ExitCodes.Failed : ExitCodes.Success;
        });
        return command;
    }

    private static IWatchSink Sink(CommandContext context)
    {
        if (context.Output.Json || !context.Output.Terminal)
        {
            return new JsonLinesSink(context.Output.Writer, context.Error);
        }

        return context.Environment.CanRedraw
            ? new LiveSink(context.Output, context.Environment)
            : new HumanSink(context.Output, context.Error);
    }

    private static async Task<WatchSummary> RunAsync(CommandContext context, WatchRecordsRequest request, IWatchSink sink, CancellationToken cancellationToken)
    {
        var what = request.Host.Length > 0 ? $"watch {request.Host}" : "watch";
        var tracker = new WatchTracker();
        var maxBreaks = (2 * context.Daemons.Servers.Count) + 1;
        var breaksWithoutProgress = 0;
        while (true)
        {
            using var stream = await context.Daemons.OpenStreamAsync(
                what, (c, o) => c.WatchRecords(request, o), cancellationToken).ConfigureAwait(false);
            try
            {
                var has = stream.HasFirst;
                while (has)
                {
                    var e = stream.Call.ResponseStream.Current;
                    sink.Event(e, tracker.Apply(e));
                    if (e.Kind is RecordEvent.Types.Kind.Updated or RecordEvent.Types.Kind.Removed or RecordEvent.Types.Kind.Host)
                    {
                        breaksWithoutProgress = 0;
                    }

                    has = await stream.Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
                }

                return tracker.Summary();
            }
            catch (RpcException e) when (IsBreak(e.StatusCode) && !cancellationToken.IsCancellationRequested)
            {
                if (++breaksWithoutProgress > maxBreaks)
                {
                    throw new DaemonCallException(what, stream.Server, e.Status);
                }

                context.Daemons.MoveToNextServer();
                await sink.NoticeAsync(
                    $"evacctl: {what}: stream from {stream.Server.OriginalString} broke ({CallFailures.Describe(e)}); reconnecting to {context.Daemons.Current.OriginalString}")
                    .ConfigureAwait(false);
            }
        }
    }

    private static bool IsBreak(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Cancelled
            or StatusCode.Unknown or StatusCode.Aborted or StatusCode.DeadlineExceeded;
}
