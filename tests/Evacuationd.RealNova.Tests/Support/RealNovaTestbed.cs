using Evacuationd.Core.Compute;
using Evacuationd.Nova;
using Evacuationd.Testing.Compute;

namespace Evacuationd.RealNova.Tests.Support;

/// <summary>
/// The compute contract's cloud as the real Nova of tests/real-nova: the client logs in to
/// the Keystone stub with a password like a deployment does; hosts come from the
/// <see cref="HostPool"/>; killing a host SIGKILLs its nova-compute; time is real.
/// </summary>
public sealed class RealNovaTestbed : IComputeTestbed
{
    private readonly List<NovaComputeClient> _clients = [];
    private readonly List<string> _hosts = [];

    public RealNovaTestbed()
    {
        Stack = RealNovaCloud.Current;
        Admin = new NovaAdmin(Stack);
    }

    public RealNovaCloud Stack { get; }

    public NovaAdmin Admin { get; }

    /// <summary>One evacuation takes 1-1.5 s on this stack; 20 at once up to 17 s (FACTS.md).</summary>
    public TimeSpan EvacuationBudget => TimeSpan.FromSeconds(90);

    public IComputeClient Client(int pageSize = 500)
    {
        var client = new NovaComputeClient(new NovaClientOptions
        {
            AuthUrl = Stack.KeystoneUrl,
            Username = "admin",
            Password = "admin",
            ProjectName = "admin",
            PageSize = pageSize,
        }, TimeProvider.System);
        _clients.Add(client);
        return client;
    }

    public async Task<string> FreshHostWithInstancesAsync(int instances)
    {
        var host = await HostPool.TakeAsync(Stack, Admin);
        _hosts.Add(host);
        await Admin.BootAsync(host, instances, "contract-" + Guid.NewGuid().ToString("N")[..8]);
        return host;
    }

    public async Task KillComputeAsync(string host)
    {
        HostPool.MarkDead(host);
        await Stack.KillComputeAsync(host);
    }

    public async Task RestartComputeAsync(string host)
    {
        await Stack.StartComputeAsync(host);
        HostPool.MarkAlive(host);
    }

    /// <summary>A real cloud works on its own: wait (this polls a real external system).</summary>
    public Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }
        foreach (var h in _hosts)
        {
            HostPool.Return(h);
        }
        Admin.Dispose();
        return ValueTask.CompletedTask;
    }
}
