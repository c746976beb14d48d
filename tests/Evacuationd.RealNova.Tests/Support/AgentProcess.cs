using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Evacuationd.RealNova.Tests.Support;

/// <summary><c>evacuationd-agent</c> run as a process, as systemd runs it on a compute node.</summary>
public static class AgentProcess
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    /// <summary>Runs the agent until it exits, or until <paramref name="stop"/> fires (then SIGTERM, as systemd stops it).</summary>
    public static async Task<Result> RunAsync(IEnumerable<string> args, CancellationToken stop = default)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "evacuationd-agent.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        await using (stop.Register(() => _ = Kill(process.Id, 15)))
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        return new Result(process.ExitCode, await output + await errors);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
