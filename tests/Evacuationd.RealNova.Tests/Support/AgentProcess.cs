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
        start.ArgumentList.Add(AgentDll());
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

    /// <summary>
    /// The agent's own build output (the solution's Release build): beside the tests its
    /// dependencies would resolve against the ASP.NET framework the daemon brings, not its own.
    /// </summary>
    private static string AgentDll()
    {
        var repo = Path.GetFullPath(Path.Combine(RealNovaCloud.Current.Scripts, "..", ".."));
        var configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(repo, "src", "Evacuationd.Agent", "bin", configuration, "net10.0", "evacuationd-agent.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build the solution first");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
