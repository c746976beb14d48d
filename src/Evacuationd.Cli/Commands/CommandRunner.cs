using System.CommandLine;
using Grpc.Core;

namespace Evacuationd.Cli.Commands;

/// <summary>
/// Runs a command body and turns what went wrong into one stderr line and an exit code:
/// usage -> 2, a daemon's error status -> 1, no daemon reachable -> 3.
/// </summary>
internal static class CommandRunner
{
    public delegate Task<int> Body(ParseResult parse, CommandContext context, CancellationToken cancellationToken);

    public static void SetBody(Command command, CliServices services, Body body) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, services, body, cancellationToken));

    /// <summary>The daemon's message, or what its silence means.</summary>
    private static string Message(Status status) => status.Detail.Length > 0
        ? status.Detail
        : status.StatusCode == StatusCode.Unimplemented
            ? "the daemon does not implement this call (yet)"
            : "(the daemon gave no message)";

    private static async Task<int> RunAsync(ParseResult parse, CliServices services, Body body, CancellationToken cancellationToken)
    {
        var stderr = services.Stderr;
        try
        {
            using var context = CommandContext.Create(parse, services);
            return await body(parse, context, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"evacctl: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (DaemonCallException e)
        {
            await stderr.WriteLineAsync($"evacctl: {e.What}: {e.Status.StatusCode}: {Message(e.Status)}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (NoDaemonReachableException e)
        {
            await stderr.WriteLineAsync($"evacctl: {e.What}: cannot reach any daemon; tried:").ConfigureAwait(false);
            foreach (var failure in e.Failures)
            {
                await stderr.WriteLineAsync($"  {failure.Server.OriginalString}: {failure.Reason}").ConfigureAwait(false);
            }

            return ExitCodes.Unreachable;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            await stderr.WriteLineAsync("evacctl: interrupted").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }
}
