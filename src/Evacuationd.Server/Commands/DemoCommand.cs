using Evacuationd.Server.Configuration;
using Evacuationd.Server.Demo;
using Serilog;
using Serilog.Events;

namespace Evacuationd.Server.Commands;

/// <summary><c>evacuationd demo [--verbose]</c>: the whole job on the embedded default, then exit.</summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var verbose = args.Contains("--verbose") || args.Contains("-v");
        var unknown = args.Where(a => a is not ("--verbose" or "-v")).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"evacuationd demo: unknown argument '{unknown[0]}' (the demo takes only --verbose)").ConfigureAwait(false);
            return 2;
        }
        // Progress goes to stdout; logs to stderr, warnings only unless --verbose.
        var logger = Logging.Create(verbose ? LogEventLevel.Information : LogEventLevel.Warning, toStderr: true);
        using var loggers = LoggerFactory.Create(b => b.AddSerilog(logger, dispose: false));
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        var runner = new DemoRunner(new DemoScenario(), Console.Out, loggers, b => b.AddSerilog(logger, dispose: false));
        try
        {
            return await runner.RunAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("evacuationd demo: interrupted").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            await ((IAsyncDisposable)logger).DisposeAsync().ConfigureAwait(false);
        }
    }
}
