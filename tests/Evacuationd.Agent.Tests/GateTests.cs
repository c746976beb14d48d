using Evacuationd.Agent.Tests.Support;
using Evacuationd.Agent.Work;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Tests;

/// <summary>
/// <c>evacuationd-agent gate</c> (nova-compute's ExecStartPre, S7) against a fake daemon and
/// a fake hypervisor: the guard runs before the gate is asked, the gate follows the daemon
/// and never opens on an unclean guard, and no daemon means closed.
/// </summary>
public sealed class GateTests
{
    private static readonly Guid Evacuated = Guid.Parse("0b1e4a52-6a43-4c5e-9f43-2f7f8b0a1c01");
    private static readonly Guid AlsoEvacuated = Guid.Parse("0b1e4a52-6a43-4c5e-9f43-2f7f8b0a1c02");
    private static readonly Guid NotEvacuated = Guid.Parse("0b1e4a52-6a43-4c5e-9f43-2f7f8b0a1c03");

    [Fact]
    public async Task AnEvacuatedGuestRunningHereIsDestroyedBeforeTheGateIsAskedAndOthersAreLeftAlone()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Done);
        h.Daemon.EvacuatedAway(Evacuated);
        h.Daemon.EvacuatedAway(AlsoEvacuated); // evacuated, but not running here
        h.Hypervisor.Run(Evacuated, NotEvacuated);

        var result = await h.GateAsync("--wait", "0");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal([Evacuated], h.Hypervisor.Destroyed);
        Assert.False(h.Hypervisor.IsRunning(Evacuated));
        Assert.True(h.Hypervisor.IsRunning(NotEvacuated), "a guest that was not evacuated must be left alone");
        var destroyed = h.Events.IndexOf($"hypervisor destroy {Evacuated}");
        var reported = h.Events.IndexOf("daemon ReportGuard clean=True");
        var asked = h.Events.IndexOf("daemon GetStartGate guard_clean=True -> may_start=True");
        Assert.True(destroyed < reported && reported < asked, h.Events.ToString());
        var report = Assert.Single(h.Daemon.GuardReports);
        var action = Assert.Single(report.Actions);
        Assert.Equal((Evacuated.ToString(), SplitBrainGuard.Destroyed, true), (action.InstanceUuid, action.Action, action.Ok));
        Assert.Contains($"gate open for {AgentHarness.Host}: nova-compute may start", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(result.Logs, l => l.Message.Contains($"destroyed local guest {Evacuated}", StringComparison.Ordinal) && l.Message.Contains("compute-02", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheGateStaysClosedWhileRecordsArePendingAndOpensOnceTheyAreTerminal()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Evacuating, pendingRecords: 2);

        var gate = h.GateAsync("--wait", "300s", "--poll", "5s");

        // Attempt 1: closed, the gate sleeps one poll interval on the fake clock.
        await h.Clock.WaitForArmedTimersAsync(1);
        Assert.False(gate.IsCompleted);
        Assert.True(Assert.Single(h.Daemon.GateRequests).GuardClean);
        h.Clock.Advance(TimeSpan.FromSeconds(5));

        // Attempt 2: still pending.
        await h.Clock.WaitForArmedTimersAsync(2);
        Assert.False(gate.IsCompleted);
        Assert.Equal(2, h.Events.Count("daemon GetStartGate guard_clean=True -> may_start=False"));

        // The records end; attempt 3 opens.
        h.Daemon.MoveTo(HostState.Done);
        h.Clock.Advance(TimeSpan.FromSeconds(5));
        var result = await gate.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal(3, h.Daemon.GateRequests.Count);
        Assert.Equal(3, h.Daemon.CheckIns.Count); // the guard ran again before every question
        Assert.Contains(result.Logs, l => l.Message.Contains("2 record(s) pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheGateGivesUpClosedWhenTheWaitIsOverAndSaysWhy()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Evacuating, pendingRecords: 4);

        var gate = h.GateAsync("--wait", "8s", "--poll", "5s");
        await h.Clock.WaitForArmedTimersAsync(1);
        h.Clock.Advance(TimeSpan.FromSeconds(5));
        await h.Clock.WaitForArmedTimersAsync(2); // the last wait is cut to what is left: 3 s
        h.Clock.Advance(TimeSpan.FromSeconds(3));
        var result = await gate.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        Assert.Equal(3, h.Daemon.GateRequests.Count);
        Assert.Contains("gate closed for compute-01: the daemon says not yet: 4 record(s) of compute-01:1 are not terminal", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoDaemonReachableTheGateStaysClosedWithItsOwnExitCodeNamingEachDaemon()
    {
        var h = new AgentHarness();
        var first = TestDaemon.UnreachableAddress();
        var second = TestDaemon.UnreachableAddress();

        var gate = h.RunAsync(["gate", "--host", AgentHarness.Host, "--server", $"{first},{second}", "--wait", "5s", "--poll", "5s"]);
        await h.Clock.WaitForArmedTimersAsync(1);
        Assert.False(gate.IsCompleted);
        h.Clock.Advance(TimeSpan.FromSeconds(5));
        var result = await gate.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("gate closed for compute-01: check-in: cannot reach any daemon", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(first, result.Stderr, StringComparison.Ordinal);
        Assert.Contains(second, result.Stderr, StringComparison.Ordinal);
        foreach (var server in new[] { first, second })
        {
            Assert.Contains(result.Logs, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning
                && l.Message.Contains($"Cannot reach daemon {server}", StringComparison.Ordinal)
                && l.Message.Contains("Connection refused", StringComparison.Ordinal));
        }

        Assert.Empty(h.Hypervisor.Destroyed);
    }

    [Fact]
    public async Task ADaemonDownIsSkippedForTheNextOne()
    {
        await using var h = await AgentHarness.StartAsync();

        var result = await h.RunAsync(["gate", "--host", AgentHarness.Host, "--server", $"{TestDaemon.UnreachableAddress()},{h.Address}", "--wait", "0"]);

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Contains("never fenced", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADestroyThatFailsIsReportedAndTheGateDoesNotOpen()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Done);
        h.Daemon.EvacuatedAway(Evacuated);
        h.Hypervisor.Run(Evacuated);
        h.Hypervisor.FailDestroy.Add(Evacuated);

        var result = await h.GateAsync("--wait", "0");

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        var report = Assert.Single(h.Daemon.GuardReports);
        Assert.False(report.Clean);
        var action = Assert.Single(report.Actions);
        Assert.Equal((Evacuated.ToString(), SplitBrainGuard.DestroyFailed, false), (action.InstanceUuid, action.Action, action.Ok));
        Assert.Contains("the fake says no", action.Detail, StringComparison.Ordinal);
        Assert.False(Assert.Single(h.Daemon.GateRequests).GuardClean);
        Assert.Contains("split-brain guard is not clean", result.Stderr, StringComparison.Ordinal);
        Assert.True(h.Hypervisor.IsRunning(Evacuated));
    }

    [Fact]
    public async Task AnUncleanGuardKeepsTheGateClosedEvenWhenTheDaemonWouldOpen()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.IgnoresGuard = true;
        h.Daemon.Fenced(AgentHarness.Host, HostState.Done);
        h.Daemon.EvacuatedAway(Evacuated);
        h.Hypervisor.Run(Evacuated);
        h.Hypervisor.FailDestroy.Add(Evacuated);

        var result = await h.GateAsync("--wait", "0");

        Assert.Equal(1, h.Events.Count("daemon GetStartGate guard_clean=False -> may_start=True"));
        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
    }

    [Fact]
    public async Task AHypervisorThatCannotBeAskedIsNotClean()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Done);
        h.Daemon.EvacuatedAway(Evacuated);
        h.Hypervisor.ListError = "cannot run virsh ('virsh'): No such file or directory";

        var result = await h.GateAsync("--wait", "0");

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        var report = Assert.Single(h.Daemon.GuardReports);
        Assert.False(report.Clean);
        Assert.Equal((SplitBrainGuard.ListFailed, false), (report.Actions[0].Action, report.Actions[0].Ok));
        Assert.Contains("No such file or directory", report.Actions[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInstanceIdThatIsNotAUuidIsNotClean()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Done);
        h.Daemon.EvacuatedAwayRaw("instance-0000002a");

        var result = await h.GateAsync("--wait", "0");

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        var report = Assert.Single(h.Daemon.GuardReports);
        Assert.False(report.Clean);
        Assert.Equal(("instance-0000002a", SplitBrainGuard.NotAUuid), (report.Actions[0].InstanceUuid, report.Actions[0].Action));
    }

    [Fact]
    public async Task AHostThatWasNeverFencedMayStartWithoutAskingTheHypervisor()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Hypervisor.Run(NotEvacuated);

        var result = await h.GateAsync("--wait", "0");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal(0, h.Events.Count("hypervisor"));
        Assert.True(Assert.Single(h.Daemon.GuardReports).Clean);
        var checkIn = Assert.Single(h.Daemon.CheckIns);
        Assert.Equal(AgentHarness.Host, checkIn.Host);
        Assert.Equal(AgentHarness.Start.AddMinutes(-3), checkIn.BootTime.ToDateTimeOffset());
        Assert.False(string.IsNullOrEmpty(checkIn.AgentVersion));
    }

    [Fact]
    public async Task WhenTheFencingMovesOnBetweenCheckInAndGateTheGuardRunsAgainBeforeOpening()
    {
        // Check-in while evacuations still run: nothing evacuated yet. Then, before the gate
        // answers, the last evacuate call is sent and every record ends: the daemon says yes,
        // but the guard worked from an older list. The agent must look again, and find the guest.
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Evacuating, pendingRecords: 1);
        h.Hypervisor.Run(Evacuated);
        h.Daemon.BeforeGateAnswer = d =>
        {
            if (d.State == HostState.Evacuating)
            {
                d.EvacuatedAway(Evacuated);
                d.MoveTo(HostState.Done);
            }
        };

        var result = await h.GateAsync("--wait", "300s");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal([Evacuated], h.Hypervisor.Destroyed);
        var destroyed = h.Events.IndexOf($"hypervisor destroy {Evacuated}");
        var opened = h.Events.Snapshot().ToList().FindLastIndex(e => e.StartsWith("daemon GetStartGate", StringComparison.Ordinal));
        Assert.True(destroyed < opened, h.Events.ToString());
        Assert.Equal(2, h.Daemon.CheckIns.Count);
        Assert.Equal(0, h.Clock.ArmedTimers); // checked again at once, not after a poll interval
    }

    [Fact]
    public async Task ARefusedCallClosesTheGateWithTheDaemonsWords()
    {
        using var pki = new TestPki("agent", "OU=agent, CN=compute-01");
        await using var h = await AgentHarness.StartAsync(new TestTls(pki.Server, pki.Issued));
        h.Daemon.RequireAgentCertificate = true;

        var result = await h.RunAsync(["gate", "--host", "compute-02", "--server", h.Address,
            "--ca", pki.CaFile, "--cert", pki.ClientCertFile, "--key", pki.ClientKeyFile, "--wait", "0"]);

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        Assert.Contains("PermissionDenied: role agent may act only for the host in its certificate", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithMutualTlsTheAgentCertificateIsUsed()
    {
        using var pki = new TestPki("agent", "OU=agent, CN=compute-01");
        await using var h = await AgentHarness.StartAsync(new TestTls(pki.Server, pki.Issued));
        h.Daemon.RequireAgentCertificate = true;
        h.Daemon.Fenced(AgentHarness.Host, HostState.Released);

        var result = await h.RunAsync(["gate", "--host", AgentHarness.Host, "--server", h.Address,
            "--ca", pki.CaFile, "--cert", pki.ClientCertFile, "--key", pki.ClientKeyFile, "--wait", "0"]);

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
    }

    [Fact]
    public async Task CancellingTheGateLeavesItClosed()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Evacuating, pendingRecords: 1);
        using var cancel = new CancellationTokenSource();

        var gate = h.RunAsync(["gate", "--host", AgentHarness.Host, "--server", h.Address], cancel.Token);
        await h.Clock.WaitForArmedTimersAsync(1);
        await cancel.CancelAsync();
        var result = await gate.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        Assert.Contains("interrupted", result.Stderr, StringComparison.Ordinal);
    }
}
