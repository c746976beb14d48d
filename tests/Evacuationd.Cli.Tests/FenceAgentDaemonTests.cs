using System.Text.Json;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Core.Records;
using Evacuationd.Server.Embedded;

namespace Evacuationd.Cli.Tests;

/// <summary>
/// The fence agent against the real daemon surface (the embedded default: in-memory store,
/// three daemons, evacsim over HTTP), driven as the fencer drives it: key=value on stdin.
/// </summary>
public sealed class FenceAgentDaemonTests : IAsyncLifetime
{
    private EmbeddedCloud _cloud = null!;

    private string Server => _cloud.GrpcAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync() => _cloud = await QuickCloud.StartAsync(hosts: 4, instancesPerHost: 2, TimeSpan.FromMilliseconds(200), severalHostsFenced: true);

    public async Task DisposeAsync() => await _cloud.DisposeAsync();

    [Fact]
    public async Task OffThenOnThenARetriedOffMakeOneFencingAndItsInstancesAreEvacuated()
    {
        var off = await AgentRun.StdinAsync("action=off", $"server={Server}", "port=compute-02");
        var on = await AgentRun.StdinAsync("action=on", $"server={Server}", "port=compute-02");
        var retried = await AgentRun.StdinAsync("action=off", $"server={Server}", "port=compute-02");

        Assert.True(off.ExitCode == 0, off.ToString());
        Assert.StartsWith("Success: compute-02 fenced: evacuation compute-02:1 recorded by", off.Stdout, StringComparison.Ordinal);
        Assert.True(on.ExitCode == 0, on.ToString());
        Assert.Contains("power-on of compute-02 recorded", on.Stdout, StringComparison.Ordinal);
        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.Equal("Success: compute-02 fenced: already recorded as evacuation compute-02:1", retried.Stdout.Trim());

        var watch = await CliRun.RunAsync("--server", Server, "watch", "--host", "compute-02").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(watch.ExitCode == 0, watch.ToString());
        var host = (await _cloud.Store.GetHostAsync("compute-02", CancellationToken.None))!.Value;
        Assert.Equal(1, host.FenceGeneration);
        Assert.Equal(HostState.Done, host.State);
        Assert.Equal("pacemaker fencer on node1", host.Reporter);
        Assert.NotNull(host.PoweredOnAt);
        Assert.Equal(2, host.Counts.Done);
    }

    [Fact]
    public async Task RebootAsTheOnlyDeviceReportsTheFenceAndThePowerOn()
    {
        var reboot = await AgentRun.StdinAsync("action=reboot", $"server={Server}", "plug=compute-03");

        Assert.True(reboot.ExitCode == 0, reboot.ToString());
        Assert.Equal(2, reboot.Lines.Length);
        Assert.StartsWith("Success: compute-03 fenced: evacuation compute-03:1", reboot.Lines[0], StringComparison.Ordinal);
        Assert.Contains("power-on of compute-03 recorded", reboot.Lines[1], StringComparison.Ordinal);
        var host = (await _cloud.Store.GetHostAsync("compute-03", CancellationToken.None))!.Value;
        Assert.NotNull(host.PoweredOnAt);
    }

    [Fact]
    public async Task AnUnreachableFirstServerIsPassedOverForTheNext()
    {
        var down = TestDaemon.UnreachableAddress();

        var off = await AgentRun.StdinAsync("action=off", $"server={down},{Server}", "port=compute-04", "verbose=1");

        Assert.True(off.ExitCode == 0, off.ToString());
        Assert.EndsWith($"recorded by {Server}", off.Stdout.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, (await _cloud.Store.GetHostAsync("compute-04", CancellationToken.None))!.Value.FenceGeneration);
    }

    [Fact]
    public async Task MonitorStatusAndListAskTheDaemonAndChangeNothing()
    {
        var monitor = await AgentRun.StdinAsync("action=monitor", $"server={Server}", "verbose=1");
        var status = await AgentRun.StdinAsync("action=status", $"server={Server}", "port=compute-01");
        var list = await AgentRun.StdinAsync("action=list", $"server={Server}");

        Assert.True(monitor.ExitCode == 0, monitor.ToString());
        Assert.Contains("is ready; it takes this agent for development caller", monitor.Stderr, StringComparison.Ordinal);
        Assert.Equal("", monitor.Stdout);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("Status: ON", status.Stdout.Trim());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(["compute-01", "compute-02", "compute-03", "compute-04"], list.Lines);
        Assert.Null(await _cloud.Store.GetHostAsync("compute-01", CancellationToken.None));
    }
}
