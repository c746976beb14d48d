using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Evacuationd.Testing.Etcd;

/// <summary>
/// The etcd processes this test process started, by PID. Only these are ever signalled;
/// whatever is still running when the test host exits normally is killed then
/// (a test host killed with SIGKILL cannot clean up: dispose the fixtures).
/// </summary>
internal static class StartedProcesses
{
    private const int SigTerm = 15;

    private static readonly ConcurrentDictionary<int, Process> Running = new();

    static StartedProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Add(Process process) => Running[process.Id] = process;

    public static void Forget(Process process) => Running.TryRemove(process.Id, out _);

    /// <summary>PIDs started here and not yet seen to exit.</summary>
    public static IReadOnlyCollection<int> Pids => Running.Keys.ToArray();

    /// <summary>SIGKILL, only while the process we started has not exited (so a reused PID is never hit).</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: false);
            }
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }

    /// <summary>SIGTERM, only while the process we started has not exited.</summary>
    public static void Terminate(Process process)
    {
        if (!process.HasExited)
        {
            _ = SysKill(process.Id, SigTerm);
        }
    }

    private static void KillAll()
    {
        foreach (var p in Running.Values)
        {
            Kill(p);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SysKill(int pid, int signal);
}
