using Evacuationd.Agent.Tests.Support;
using Evacuationd.Agent.Work;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Tests;

/// <summary>
/// <c>evacuationd-agent run</c> against a fake daemon on a fake clock: one round per interval
/// (or per next_check_in_seconds), the guard every round, the release only when the fencing
/// ended and the guard is clean, retried after FAILED_PRECONDITION; unreachable daemons are
/// logged and the loop goes on; cancellation stops it cleanly.
/// </summary>
public sealed class RunLoopTests
{
    private static readonly Guid Evacuated = Guid.Parse("5d0c7c1e-2b7a-4f4e-8d55-3e1c9a0b7f11");

    [Fact]
    public async Task ReleaseIsRequestedOnlyOnceTheFencingEndedAndTheGuardIsCleanAndRetriedAfterFailedPrecondition()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Evacuating, pendingRecords: 1);
        h.Daemon.EvacuatedAway(Evacuated);
        h.Hypervisor.Run(Evacuated);
        h.Hypervisor.FailDestroy.Add(Evacuated);
        h.Daemon.NovaRefusals = 1;
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token, "--interval", "10s");

        // Round 1: fencing still running (and the guard not clean): no release.
        var round = await h.NextRoundAsync();
        Assert.Equal((false, ReleaseOutcome.NotAsked), (round.Guard!.Clean, round.Release));
        await NextIntervalAsync(h, 1);

        // Round 2: the fencing ended, but the guest still cannot be destroyed: no release.
        h.Daemon.MoveTo(HostState.Done);
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        Assert.Equal((false, ReleaseOutcome.NotAsked), (round.Guard!.Clean, round.Release));
        Assert.Empty(h.Daemon.ReleaseRequests);
        await NextIntervalAsync(h, 2);

        // Round 3: destroyed, clean: release asked; Nova still refuses (done migrations remain).
        h.Hypervisor.FailDestroy.Clear();
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        Assert.Equal((true, ReleaseOutcome.NotYet), (round.Guard!.Clean, round.Release));
        await NextIntervalAsync(h, 3);

        // Round 4: asked again, released.
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        Assert.Equal(ReleaseOutcome.Released, round.Release);
        Assert.Equal(HostState.Released, h.Daemon.State);
        await NextIntervalAsync(h, 4);

        // Round 5: in service: nothing more to ask.
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        Assert.Equal(ReleaseOutcome.NotAsked, round.Release);

        await stop.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal(2, h.Daemon.ReleaseRequests.Count);
        Assert.Equal(["daemon RequestRelease -> FailedPrecondition (nova)", "daemon RequestRelease -> released"],
            h.Events.Snapshot().Where(e => e.StartsWith("daemon RequestRelease", StringComparison.Ordinal)));
        Assert.Equal(5, h.Daemon.GuardReports.Count); // the guard reports every round
        Assert.Contains(result.Logs, l => l.Message.Contains("not possible yet", StringComparison.Ordinal) && l.Message.Contains("`done` evacuation migration records remain", StringComparison.Ordinal));
        Assert.Contains(result.Logs, l => l.Message.Contains("compute-01 released", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReleaseOffNeverAsks()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Failed);
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token, "--release", "off");

        var round = await h.NextRoundAsync();
        await stop.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(round.Guard!.Clean);
        Assert.Equal(ReleaseOutcome.NotAsked, round.Release);
        Assert.Empty(h.Daemon.ReleaseRequests);
        Assert.Equal(ExitCodes.Success, result.ExitCode);
    }

    [Fact]
    public async Task AFailedFencingIsReleasedToo()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Failed);
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token);

        var round = await h.NextRoundAsync();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ReleaseOutcome.Released, round.Release);
        Assert.Contains("the fencing compute-01:1 ended (failed)", Assert.Single(h.Daemon.ReleaseRequests).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEvacuatedGuestFoundRunningIsDestroyedInTheRunLoopToo()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced(AgentHarness.Host, HostState.Released);
        var other = Guid.NewGuid();
        h.Hypervisor.Run(other);
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token, "--interval", "10s");

        var round = await h.NextRoundAsync();
        Assert.Empty(round.Guard!.Actions);
        await NextIntervalAsync(h, 1);

        // A guest evacuated away shows up here (e.g. restarted by libvirt): gone next round.
        h.Daemon.EvacuatedAway(Evacuated);
        h.Hypervisor.Run(Evacuated);
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(round.Guard!.Clean);
        Assert.Equal([Evacuated], h.Hypervisor.Destroyed);
        Assert.True(h.Hypervisor.IsRunning(other));
    }

    [Fact]
    public async Task TheDaemonsNextCheckInIsHonoured()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.NextCheckInSeconds = 30;
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token, "--interval", "10s");

        var round = await h.NextRoundAsync();
        Assert.Equal(TimeSpan.FromSeconds(30), round.NextDelay);
        await NextIntervalAsync(h, 1);
        h.Daemon.NextCheckInSeconds = 0;
        h.Clock.Advance(TimeSpan.FromSeconds(30));
        round = await h.NextRoundAsync();
        Assert.Equal(TimeSpan.FromSeconds(10), round.NextDelay);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([AgentHarness.Start, AgentHarness.Start.AddSeconds(30)], h.Daemon.CheckInTimes);
    }

    [Fact]
    public async Task UnreachableDaemonsAreLoggedByNameAndTheLoopGoesOn()
    {
        var h = new AgentHarness();
        var first = TestDaemon.UnreachableAddress();
        var second = TestDaemon.UnreachableAddress();
        using var stop = new CancellationTokenSource();
        var run = h.RunAsync(["run", "--host", AgentHarness.Host, "--server", first, "--server", second, "--interval", "10s"], stop.Token);

        var round = await h.NextRoundAsync();
        Assert.Null(round.CheckIn);
        await NextIntervalAsync(h, 1);
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        round = await h.NextRoundAsync();
        Assert.Null(round.CheckIn);

        await stop.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        foreach (var server in new[] { first, second })
        {
            Assert.Equal(2, result.Logs.Count(l => l.Level == LogLevel.Warning
                && l.Message == $"Cannot reach daemon {server} for check-in: Unavailable: Connection refused"));
        }

        Assert.Equal(0, h.Events.Count("hypervisor"));
    }

    [Fact]
    public async Task SelfChecksArePassingFailingOrTimedOutAndReported()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.DisableServiceOnFailedChecks = true;
        var config = Path.Combine(Path.GetTempPath(), $"agent-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """
            {
              // per-check timeouts: the slow one has its own, the others the (long) default
              "check": [
                "libvirt=echo libvirt is fine",
                "disk=echo /var/lib/nova is full >&2; exit 3",
                { "name": "slow", "command": "sleep 600", "timeout": "5s" },
              ],
              "check-timeout": "1h",
            }
            """);
        try
        {
            using var stop = new CancellationTokenSource();
            var run = h.RunLoopAsync(stop.Token, "--config", config, "--interval", "10s");

            // One timer per check; only the slow check's is due after 5 s.
            await h.Clock.WaitForArmedTimersAsync(3);
            h.Clock.Advance(TimeSpan.FromSeconds(5));
            var round = await h.NextRoundAsync();
            await stop.CancelAsync();
            var result = await run.WaitAsync(TimeSpan.FromSeconds(10));

            var reported = Assert.Single(h.Daemon.SelfCheckReports);
            Assert.Equal(AgentHarness.Host, reported.Host);
            Assert.Equal(["libvirt", "disk", "slow"], reported.Results.Select(r => r.Name));
            Assert.Equal((true, "libvirt is fine"), (reported.Results[0].Ok, reported.Results[0].Output));
            Assert.Equal((false, "exit code 3: /var/lib/nova is full"), (reported.Results[1].Ok, reported.Results[1].Output));
            Assert.Equal((false, "timed out after 5s (killed)"), (reported.Results[2].Ok, reported.Results[2].Output));
            Assert.Equal(5000u, reported.Results[2].DurationMs);
            Assert.Equal(reported.Results, round.Checks);
            Assert.Contains(result.Logs, l => l.Level == LogLevel.Warning && l.Message.Contains("Self-check disk failed", StringComparison.Ordinal));
            Assert.Contains(result.Logs, l => l.Level == LogLevel.Warning
                && l.Message.Contains("The daemon disabled nova-compute on compute-01", StringComparison.Ordinal)
                && l.Message.Contains("after 3 failed rounds", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task NoSelfChecksMeansNoReport()
    {
        await using var h = await AgentHarness.StartAsync();
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token);

        await h.NextRoundAsync();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(h.Daemon.SelfCheckReports);
    }

    [Fact]
    public async Task StoppingWhileWaitingEndsTheLoopCleanly()
    {
        await using var h = await AgentHarness.StartAsync();
        using var stop = new CancellationTokenSource();
        var run = h.RunLoopAsync(stop.Token, "--interval", "10s");
        await h.NextRoundAsync();
        await NextIntervalAsync(h, 1);

        await stop.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Single(h.Daemon.CheckIns);
        Assert.Contains(result.Logs, l => l.Message == "Agent for compute-01 stopping");
        Assert.Contains(result.Logs, l => l.Message.StartsWith("Agent for compute-01 running: daemons http://127.0.0.1:", StringComparison.Ordinal)
            && l.Message.Contains("hypervisor fake, interval 10s, 0 self-check(s), release auto", StringComparison.Ordinal));
    }

    /// <summary>Waits until the loop sleeps after round <paramref name="round"/> (its delay timer is armed; no self-checks).</summary>
    private static Task NextIntervalAsync(AgentHarness h, int round) => h.Clock.WaitForArmedTimersAsync(round);
}
