using Evacuationd.Agent.Tests.Support;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;
using Evacuationd.Server.Embedded;
using Grpc.Net.Client;
using CoreHostState = Evacuationd.Core.Records.HostState;

namespace Evacuationd.Agent.Tests;

/// <summary>
/// The agent against the real daemon surface (the embedded default: in-memory store, daemons,
/// evacsim over HTTP), on the real clock: a host is fenced and evacuated; when it comes back
/// its gate destroys the evacuated guests still running there, waits for the evacuation to
/// end, opens; nova-compute comes back; the run loop releases the host once Nova agrees (S7).
/// </summary>
public sealed class AgentEndToEndTests : IAsyncLifetime
{
    private EmbeddedCloud cloud = null!;

    private string Server => cloud.GrpcAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync() => cloud = await QuickCloud.StartAsync(hosts: 3, instancesPerHost: 2, TimeSpan.FromSeconds(2), severalHostsFenced: true,
        configure: e => e.ReleaseWait = TimeSpan.FromSeconds(1));

    public async Task DisposeAsync() => await cloud.DisposeAsync();

    [Fact]
    public async Task AFencedHostComesBackOnlyAfterItsGuestsWereDestroyedItsEvacuationEndedAndNovaCleanedUp()
    {
        var sim = cloud.Simulator.Cloud;
        var events = new EventLog();
        var hypervisor = new FakeHypervisor(events);
        var evacuated = sim.ListInstances().Where(i => i.Host == "compute-01").Select(i => Guid.Parse(i.Id)).ToList();
        var unrelated = Guid.Parse("0b4b1f6e-7d1c-4c52-9f0e-3f6f2d5c9a11");
        hypervisor.Run([.. evacuated, unrelated]); // after the "reboot", libvirt started them again
        var before = await AgentAsync(hypervisor, "gate", "--wait", "5s", "--poll", "200ms");

        sim.PowerOff("compute-01");
        using var channel = GrpcChannel.ForAddress(Server);
        await new Fencing.FencingClient(channel).ReportFencedAsync(new ReportFencedRequest { Host = "compute-01", Reporter = "test" });
        var gate = await AgentAsync(hypervisor, "gate", "--wait", "60s", "--poll", "200ms");
        var hostWhenGateOpened = (await cloud.Store.GetHostAsync("compute-01", CancellationToken.None))!.Value;
        var records = await cloud.Store.ListInstancesAsync("compute-01", 1, CancellationToken.None);

        sim.PowerOn("compute-01"); // nova-compute starts: after evacsim's cleanup its done migrations become completed
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = AgentAsync(hypervisor, stop.Token, "run", "--interval", "300ms");
        await WaitForReleaseAsync(stop.Token);
        await stop.CancelAsync();
        var loop = await run;

        Assert.True(before.ExitCode == 0, before.ToString()); // never fenced: open
        Assert.Empty(hypervisor.Destroyed.Intersect([unrelated]));
        Assert.True(gate.ExitCode == 0, gate.ToString());
        Assert.Equal(evacuated.Order(), hypervisor.Destroyed.Order());
        Assert.True(hypervisor.IsRunning(unrelated));
        Assert.Equal(CoreHostState.Done, hostWhenGateOpened.State);
        Assert.All(records, r => Assert.True(r.Value.IsTerminal, r.Value.Id));
        Assert.Equal(2, events.Count("hypervisor destroy")); // once each: the run loop found nothing more to destroy
        var host = (await cloud.Store.GetHostAsync("compute-01", CancellationToken.None))!.Value;
        Assert.Equal(CoreHostState.Released, host.State);
        var service = sim.GetHosts().Single(h => h.Name == "compute-01");
        Assert.False(service.ForcedDown);
        Assert.Equal("enabled", service.Status);
        Assert.All(sim.ListMigrations().Where(m => m.SourceCompute == "compute-01"), m => Assert.Equal("completed", m.Status));
        Assert.True(host.ReleasedAt >= sim.ListMigrations().Where(m => m.SourceCompute == "compute-01").Max(m => m.UpdatedAt),
            "released only after Nova's done migrations became completed");
        Assert.True(loop.ExitCode == 0, loop.ToString());
    }

    private async Task WaitForReleaseAsync(CancellationToken ct)
    {
        await foreach (var _ in cloud.Store.WatchAsync(0, ct))
        {
            if ((await cloud.Store.GetHostAsync("compute-01", ct))?.Value.State == CoreHostState.Released)
            {
                return;
            }
        }
    }

    private Task<AgentResult> AgentAsync(FakeHypervisor hypervisor, params string[] args) =>
        AgentAsync(hypervisor, CancellationToken.None, args);

    private async Task<AgentResult> AgentAsync(FakeHypervisor hypervisor, CancellationToken ct, params string[] args)
    {
        using var stderr = new StringWriter();
        var environment = new AgentEnvironment { Hypervisor = _ => hypervisor };
        var code = await AgentApp.RunAsync([args[0], "--host", "compute-01", "--server", Server, .. args[1..]], TextWriter.Null, stderr, environment, ct);
        return new AgentResult(code, stderr.ToString(), []);
    }
}
