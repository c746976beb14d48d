using System.Diagnostics;

namespace Evacuationd.Chaos;

/// <summary>
/// A process this run started, optionally in a network namespace (<c>ip netns exec</c>), with
/// stdout and stderr appended to a log file. <c>/bin/sh</c> replaces itself with the program
/// (and <c>ip netns exec</c> does too), so <see cref="Pid"/> is the program's own PID: every
/// signal goes to exactly the process started here, and only while it has not exited.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process, string log)
    {
        _process = process;
        Log = log;
        Pid = process.Id;
    }

    public int Pid { get; }

    public string Log { get; }

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts <paramref name="program"/> with <paramref name="args"/>; in <paramref name="netns"/> when given.</summary>
    public static ChildProcess Start(string program, IEnumerable<string> args, string log, string? netns = null,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(log)! };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$CHAOS_LOG\" 2>&1");
        if (netns is not null)
        {
            psi.ArgumentList.Add("ip");
            psi.ArgumentList.Add("netns");
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add(netns);
        }
        psi.ArgumentList.Add(program);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["CHAOS_LOG"] = log;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        return new ChildProcess(p, log);
    }

    /// <summary>Sends <paramref name="signal"/> if the process has not exited; false otherwise.</summary>
    public bool Signal(int signal) => !_process.HasExited && Posix.Signal(Pid, signal);

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGCONT (a paused process cannot die), SIGKILL, and wait.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited)
        {
            return;
        }
        Signal(Posix.SigCont);
        Signal(Posix.SigKill);
        await WaitForExitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; true when it left by itself.</summary>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return true;
        }
        Signal(Posix.SigCont);
        Signal(Posix.SigTerm);
        if (await WaitForExitAsync(grace))
        {
            return true;
        }
        await KillAsync();
        return false;
    }

    /// <summary>The last <paramref name="lines"/> lines of the log.</summary>
    public string Tail(int lines = 30) => Files.Tail(Log, lines);

    public void Dispose() => _process.Dispose();
}

internal static class Files
{
    public static string Tail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"({e.Message})";
        }
    }
}
