namespace Evacuationd.RealNova.Tests.Support;

/// <summary>
/// The stack's compute hosts, handed to one test at a time. A host is handed out only while
/// Nova shows it up, enabled and not forced down and its nova-compute runs; its servers are
/// deleted first, so the test starts from an empty host. A test leaves a host dead or fenced
/// for good unless it brings it back; at least <see cref="Spares"/> healthy hosts always stay
/// untaken as evacuation targets.
/// </summary>
public static class HostPool
{
    public const int Spares = 2;

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly HashSet<string> Taken = [];
    private static readonly HashSet<string> Dead = [];

    public static async Task<string> TakeAsync(RealNovaCloud stack, NovaAdmin nova)
    {
        await Gate.WaitAsync();
        try
        {
            var healthy = new List<string>();
            foreach (var host in stack.Hosts)
            {
                if (!Taken.Contains(host) && !IsDead(host) && (await nova.ServiceAsync(host)).Healthy)
                {
                    healthy.Add(host);
                }
            }
            if (healthy.Count < 1 + Spares)
            {
                throw new InvalidOperationException(
                    $"the real Nova has {healthy.Count} healthy untaken compute hosts of {stack.Hosts.Count}; a test needs one plus {Spares} " +
                    "evacuation targets: start the stack with more hosts (COMPUTES)");
            }
            var taken = healthy[0];
            Taken.Add(taken);
            await nova.DeleteServersOnAsync(taken);
            return taken;
        }
        finally
        {
            Gate.Release();
        }
    }

    public static void Return(string host)
    {
        lock (Taken)
        {
            Taken.Remove(host);
        }
    }

    /// <summary>The host's nova-compute was killed: Nova still shows it up until service_down_time.</summary>
    public static void MarkDead(string host)
    {
        lock (Dead)
        {
            Dead.Add(host);
        }
    }

    public static void MarkAlive(string host)
    {
        lock (Dead)
        {
            Dead.Remove(host);
        }
    }

    private static bool IsDead(string host)
    {
        lock (Dead)
        {
            return Dead.Contains(host);
        }
    }
}
