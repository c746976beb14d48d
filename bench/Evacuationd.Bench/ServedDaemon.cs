using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Evacuationd.Bench;

/// <summary>Memory of a process from /proc/PID/status, in MB: the peak resident set (VmHWM) and the current one (VmRSS).</summary>
internal readonly record struct ProcessMemory(double PeakMb, double CurrentMb);

/// <summary>
/// One <c>evacuationd serve</c> process started by this bench (the evacuationd.dll built beside
/// it), its output appended to a log file. <c>/bin/sh</c> replaces itself with <c>dotnet</c>,
/// and <c>dotnet evacuationd.dll</c> runs the daemon in that same process, so <see cref="Pid"/>
/// is the daemon's own: signals, /proc/PID/status and /proc/PID/stat are about the daemon.
/// </summary>
internal sealed class ServedDaemon : IDisposable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private readonly Process _process;

    private ServedDaemon(string id, Process process, string log)
    {
        Id = id;
        _process = process;
        Pid = process.Id;
        Log = log;
    }

    public string Id { get; }

    public int Pid { get; }

    public string Log { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>dotnet evacuationd.dll serve --config CONFIG --Engine:DaemonId=ID</c>.</summary>
    public static ServedDaemon Start(string id, string config, string log, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "evacuationd.dll");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(log)! };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$BENCH_LOG\" 2>&1");
        foreach (var a in new[] { "dotnet", dll, "serve", "--config", config, $"--Engine:DaemonId={id}" })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["BENCH_LOG"] = log;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start evacuationd {id}");
        return new ServedDaemon(id, p, log);
    }

    /// <summary>Sends <paramref name="signal"/> to this process while it runs; false once it exited.</summary>
    public bool Signal(int signal) => !_process.HasExited && SysKill(Pid, signal) == 0;

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

    /// <summary>SIGTERM (graceful: hands its records over, revokes its lease); SIGKILL after <paramref name="grace"/>.</summary>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        if (!Signal(SigTerm))
        {
            return true;
        }
        if (await WaitForExitAsync(grace))
        {
            return true;
        }
        Signal(SigKill);
        await WaitForExitAsync(TimeSpan.FromSeconds(20));
        return false;
    }

    /// <summary>VmHWM and VmRSS; zero once the process is gone.</summary>
    public ProcessMemory Memory()
    {
        double peak = 0, current = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kb(line) / 1024.0;
                }
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    current = Kb(line) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        return new ProcessMemory(peak, current);

        static long Kb(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>CPU time used so far (user + system).</summary>
    public TimeSpan Cpu() => Counters.ProcessCpu(Pid);

    /// <summary>The last <paramref name="lines"/> lines of the log.</summary>
    public string Tail(int lines = 20)
    {
        try
        {
            using var stream = new FileStream(Log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"({e.Message})";
        }
    }

    public void Dispose()
    {
        Signal(SigKill);
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SysKill(int pid, int signal);
}
