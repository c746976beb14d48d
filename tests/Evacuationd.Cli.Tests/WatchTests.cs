using System.Text.Json;
using System.Text.RegularExpressions;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;
using Grpc.Core;
using Kind = Evacuationd.Contracts.V1.RecordEvent.Types.Kind;

namespace Evacuationd.Cli.Tests;

public class WatchTests
{
    private static Record Canned(string id) => CannedData.Records().Single(r => r.Id == id);

    private static Record As(string id, RecordState state, int updated, Action<Record>? change = null)
    {
        var record = Canned(id);
        record.State = state;
        record.StateName = state.ToString().ToLowerInvariant();
        record.UpdatedAt = CannedData.At(updated);
        record.Revision = 1000 + updated;
        change?.Invoke(record);
        return record;
    }

    private static RecordEvent Event(Kind kind, Record record) => new() { Kind = kind, Record = record };

    private static RecordEvent SnapshotEnd() => new() { Kind = Kind.SnapshotEnd };

    private static RecordEvent HostProgress(uint done, uint inFlight)
    {
        var host = CannedData.Hosts()[0];
        host.Counts = new RecordCounts { Total = 4, Done = done, Skipped = 1, InFlight = inFlight };
        host.History.Add(CannedData.Step(60, "evacuating", "evacuating", "progress"));
        return new RecordEvent { Kind = Kind.Host, Host = host };
    }

    /// <summary>compute-01: web-1 done, cache-1 rebuilding, batch-1 skipped; then cache-1 ends done.</summary>
    private static WatchScript AllGoWell() => new(
    [
        Event(Kind.Snapshot, Canned(CannedData.DoneId)),
        Event(Kind.Snapshot, Canned(CannedData.RebuildingId)),
        Event(Kind.Snapshot, Canned(CannedData.SkippedId)),
        SnapshotEnd(),
        Event(Kind.Updated, As(CannedData.RebuildingId, RecordState.Done, 60, r => r.Reason = "Nova shows the instance ACTIVE on compute-03")),
        HostProgress(done: 2, inFlight: 0),
    ]);

    [Fact]
    public async Task WatchNotOnATerminalPrintsJsonLinesAndExits0()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "watch", "--host", "compute-01");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(fake.WatchRequests);
        Assert.True(request.UntilDone);
        Assert.Equal("compute-01", request.Host);
        var events = result.Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(
            ["KIND_SNAPSHOT", "KIND_SNAPSHOT", "KIND_SNAPSHOT", "KIND_SNAPSHOT_END", "KIND_UPDATED", "KIND_HOST"],
            events.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal(CannedData.RebuildingId, events[4].GetProperty("record").GetProperty("id").GetString());
        Assert.Equal("done", events[4].GetProperty("record").GetProperty("stateName").GetString());
        Assert.Equal(0, events[2].GetProperty("record").GetProperty("attempt").GetInt32());
        Assert.Equal(2, events[5].GetProperty("host").GetProperty("counts").GetProperty("done").GetInt32());
    }

    [Fact]
    public async Task WatchOnADumbTerminalPrintsALinePerChangeAndASummary()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, CliRun.DumbTerminal(), "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(Terminal.HasEscapes(result.Stdout));
        var lines = result.Lines;
        Assert.Equal(6, lines.Length);
        Assert.Equal("12:00:30  compute-01:1:aaaa0001  web-1  done       attempt 1/3  -> compute-02  Nova shows the instance ACTIVE on compute-02", lines[0]);
        Assert.Equal("12:00:05  compute-01:1:cccc0003  cache-1  rebuilding attempt 1/3  -> compute-03  Nova accepted evacuate", lines[1]);
        Assert.Equal("12:00:01  compute-01:1:dddd0004  batch-1  skipped    attempt 0/3  instance is not protected (no evacuable tag)", lines[2]);
        Assert.Equal("12:01:00  compute-01:1:cccc0003  cache-1  done       attempt 1/3  -> compute-03  Nova shows the instance ACTIVE on compute-03", lines[3]);
        Assert.Equal("12:01:00  host compute-01 gen 1 evacuating  [###############-----] 3/4  done 2, failed 0, skipped 1, cancelled 0, in flight 0", lines[4]);
        Assert.Equal("done 2, failed 0, skipped 1, cancelled 0", lines[5]);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task WatchWithJsonOutputPrintsJsonLinesEvenOnATerminal()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "watch", "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(6, result.Lines.Length);
        Assert.All(result.Lines, l => Assert.StartsWith("{", l, StringComparison.Ordinal));
        Assert.DoesNotContain("done 2, failed 0", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchExits1WhenARecordEndedFailed()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(new WatchScript(
        [
            Event(Kind.Snapshot, Canned(CannedData.DoneId)),
            Event(Kind.Snapshot, As(CannedData.FailedId, RecordState.Retrying, 30)),
            SnapshotEnd(),
            Event(Kind.Updated, Canned(CannedData.FailedId)),
        ]));
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "watch");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var screen = Terminal.Lines(result.Stdout);
        Assert.Equal("done 1, failed 1, skipped 0, cancelled 0", screen[^1]);
        Assert.Contains(screen, l => l.Contains("db-1  failed", StringComparison.Ordinal) && l.EndsWith(CannedData.FailedReason, StringComparison.Ordinal));
        Assert.Matches(@"^compute-01 gen 1 \S+\s+2/2  done 1, failed 1$", LastBar(screen, "compute-01 gen 1"));
    }

    [Fact]
    public async Task WatchJsonLinesAlsoExit1WhenARecordEndedFailed()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(new WatchScript([Event(Kind.Snapshot, Canned(CannedData.FailedId)), SnapshotEnd()]));
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "watch");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal(2, result.Lines.Length);
    }

    [Fact]
    public async Task ABrokenWatchReconnectsToTheNextServerAndContinues()
    {
        var first = new FakeOperator();
        first.WatchScripts.Enqueue(new WatchScript(
        [
            Event(Kind.Snapshot, Canned(CannedData.DoneId)),
            Event(Kind.Snapshot, Canned(CannedData.RebuildingId)),
            SnapshotEnd(),
            Event(Kind.Updated, As(CannedData.RebuildingId, RecordState.Retrying, 40, r => r.Reason = "rebuild timed out")),
        ], BreakWith: new Status(StatusCode.Unavailable, "daemon shutting down")));
        var second = new FakeOperator();
        second.WatchScripts.Enqueue(new WatchScript(
        [
            Event(Kind.Snapshot, Canned(CannedData.DoneId)),
            Event(Kind.Snapshot, As(CannedData.RebuildingId, RecordState.Retrying, 40, r => r.Reason = "rebuild timed out")),
            SnapshotEnd(),
            Event(Kind.Updated, As(CannedData.RebuildingId, RecordState.Done, 90)),
        ]));
        await using var a = await TestDaemon.StartAsync(first);
        await using var b = await TestDaemon.StartAsync(second);

        var result = await CliRun.RunAsync(CliRun.DumbTerminal(), "--server", a.Address, "--server", b.Address, "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(first.WatchRequests);
        Assert.Single(second.WatchRequests);
        Assert.Contains($"stream from {a.Address} broke (Unavailable: daemon shutting down); reconnecting to {b.Address}", result.Stderr, StringComparison.Ordinal);
        // The second snapshot repeats what was already shown: not printed again.
        Assert.Equal(
        [
            "web-1  done",
            "cache-1  rebuilding",
            "cache-1  retrying",
            "cache-1  done",
            "done 2, failed 0, skipped 0, cancelled 0",
        ],
        result.Lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"(\S+  \w+(?=\s+attempt)|^done .*)").Value.TrimEnd()));
    }

    [Fact]
    public async Task ABrokenJsonWatchReplaysTheNewSnapshotAsTheDaemonSentIt()
    {
        var first = new FakeOperator();
        first.WatchScripts.Enqueue(new WatchScript(
            [Event(Kind.Snapshot, Canned(CannedData.RebuildingId)), SnapshotEnd()],
            BreakWith: new Status(StatusCode.Internal, "connection reset")));
        var second = new FakeOperator();
        second.WatchScripts.Enqueue(new WatchScript(
            [Event(Kind.Snapshot, As(CannedData.RebuildingId, RecordState.Done, 90)), SnapshotEnd()]));
        await using var a = await TestDaemon.StartAsync(first);
        await using var b = await TestDaemon.StartAsync(second);

        var result = await CliRun.RunAsync("--server", $"{a.Address},{b.Address}", "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        var kinds = result.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString());
        Assert.Equal(["KIND_SNAPSHOT", "KIND_SNAPSHOT_END", "KIND_SNAPSHOT", "KIND_SNAPSHOT_END"], kinds);
        Assert.Contains("reconnecting", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWatchThatKeepsBreakingGivesUpWithExit1()
    {
        var fake = new FakeOperator();
        for (var i = 0; i < 10; i++)
        {
            fake.WatchScripts.Enqueue(new WatchScript([SnapshotEnd()], BreakWith: new Status(StatusCode.Unavailable, "flapping")));
        }

        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "watch");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal(4, fake.WatchRequests.Count);
        Assert.EndsWith("evacctl: watch: Unavailable: flapping", result.Stderr.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchOpensOnTheNextServerWhenTheFirstIsUnreachable()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.RunAsync("--server", TestDaemon.UnreachableAddress(), "--server", daemon.Address, "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(6, result.Lines.Length);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task WatchWithNoDaemonExits3()
    {
        var dead = TestDaemon.UnreachableAddress();

        var result = await CliRun.RunAsync("--server", dead, "watch", "--host", "compute-01");

        Assert.Equal(ExitCodes.Unreachable, result.ExitCode);
        Assert.Contains("evacctl: watch compute-01: cannot reach any daemon", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(dead, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchOnATerminalDrawsABarPerFencingWithALinePerTransitionAboveAndTheFinalCounts()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(new WatchScript(
        [
            HostAs("compute-01", HostState.Evacuating, new RecordCounts { Total = 3, Done = 1, Skipped = 1, InFlight = 1 }),
            Event(Kind.Snapshot, Canned(CannedData.DoneId)),
            Event(Kind.Snapshot, Canned(CannedData.RebuildingId)),
            Event(Kind.Snapshot, Canned(CannedData.SkippedId)),
            SnapshotEnd(),
            Event(Kind.Updated, As(CannedData.RebuildingId, RecordState.Done, 60, r => r.Reason = "Nova shows the instance ACTIVE on compute-03")),
            HostAs("compute-01", HostState.Done, new RecordCounts { Total = 3, Done = 2, Skipped = 1 }, at: 61, reason: "fencing ended: 2 done, 0 failed, 1 skipped, 0 cancelled"),
        ]));
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        Assert.Contains("\u001b[?25l", result.Stdout, StringComparison.Ordinal); // the cursor hidden while drawing
        Assert.Contains("\u001b[?25h", result.Stdout, StringComparison.Ordinal); // and shown again
        var screen = Terminal.Lines(result.Stdout);
        Assert.Equal(
        [
            "12:00:00  host compute-01 gen 1  evacuating  fenced by pacemaker node ctl-1",
            "12:00:30  compute-01:1:aaaa0001  web-1  done       attempt 1/3  -> compute-02  Nova shows the instance ACTIVE on compute-02",
            "12:00:05  compute-01:1:cccc0003  cache-1  rebuilding attempt 1/3  -> compute-03  Nova accepted evacuate",
            "12:00:01  compute-01:1:dddd0004  batch-1  skipped    attempt 0/3  instance is not protected (no evacuable tag)",
            "12:01:00  compute-01:1:cccc0003  cache-1  done       attempt 1/3  -> compute-03  Nova shows the instance ACTIVE on compute-03",
            "12:01:01  host compute-01 gen 1  done  fencing ended: 2 done, 0 failed, 1 skipped, 0 cancelled",
        ],
        Transitions(screen));
        Assert.Contains(screen, l => Regex.IsMatch(l, @"^compute-01 gen 1 evacuating\s+━+\s+2/3  done 1, skipped 1, in flight 1$"));
        Assert.Matches(@"^compute-01 gen 1 done\s+━{24} 3/3  done 2, skipped 1$", LastBar(screen, "compute-01 gen 1"));
        Assert.Equal("done 2, failed 0, skipped 1, cancelled 0", screen[^1]);
    }

    [Fact]
    public async Task ALiveWatchFollowsAHeldHostThroughItsConfirmationAsTheDaemonSendsIt()
    {
        var fake = new FakeOperator();
        var feed = new WatchFeed();
        var heldReason = CannedData.Hosts().Single(h => h.Name == "compute-04").Reason;
        fake.WatchScripts.Enqueue(new WatchScript(
        [
            HostAs("compute-04", HostState.Held, new RecordCounts(), at: 45),
            // The host's previous fencing, long over: neither a bar nor lines.
            Event(Kind.Snapshot, Canned(CannedData.OlderId)),
            SnapshotEnd(),
        ], Feed: feed));
        await using var daemon = await TestDaemon.StartAsync(fake);
        var screen = new ScreenWriter();

        var run = CliRun.RunAsync(CliRun.Environment(terminal: true), screen, "--server", daemon.Address, "watch", "--host", "compute-04");

        await screen.WaitForAsync($"12:00:45  host compute-04 gen 2  held  {heldReason}");
        await screen.WaitForAsync("0/0  done 0");
        Assert.Contains("compute-04 gen 2 held", Terminal.Plain(screen.ToString()), StringComparison.Ordinal);

        feed.Send(HostAs("compute-04", HostState.Planning, new RecordCounts(), at: 70, reason: "confirmed by operator"));
        await screen.WaitForAsync("12:01:10  host compute-04 gen 2  planning  confirmed by operator");

        feed.Send(
            Event(Kind.Updated, As(CannedData.AcceptedId, RecordState.Accepted, 71)),
            HostAs("compute-04", HostState.Evacuating, new RecordCounts { Total = 1, Accepted = 1 }, at: 71, reason: "1 instance to evacuate"));
        await screen.WaitForAsync("0/1  done 0, waiting 1");

        feed.Send(Event(Kind.Updated, As(CannedData.AcceptedId, RecordState.Rebuilding, 72, r => r.Attempt = 1)));
        await screen.WaitForAsync("0/1  done 0, in flight 1");

        feed.Send(
            Event(Kind.Updated, As(CannedData.AcceptedId, RecordState.Done, 80, r =>
            {
                r.Attempt = 1;
                r.DestinationHost = "compute-05";
                r.Reason = "Nova rebuilt the instance on compute-05";
            })),
            HostAs("compute-04", HostState.Done, new RecordCounts { Total = 1, Done = 1 }, at: 81, reason: "fencing ended: 1 done"));
        await screen.WaitForAsync("1/1  done 1");
        feed.End();
        var result = await run;

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Terminal.Lines(result.Stdout);
        Assert.Equal(
        [
            $"12:00:45  host compute-04 gen 2  held  {heldReason}",
            "12:01:10  host compute-04 gen 2  planning  confirmed by operator",
            "12:01:11  compute-04:2:eeee0005  web-2  accepted   attempt 0/3",
            "12:01:11  host compute-04 gen 2  evacuating  1 instance to evacuate",
            "12:01:12  compute-04:2:eeee0005  web-2  rebuilding attempt 1/3",
            "12:01:20  compute-04:2:eeee0005  web-2  done       attempt 1/3  -> compute-05  Nova rebuilt the instance on compute-05",
            "12:01:21  host compute-04 gen 2  done  fencing ended: 1 done",
        ],
        Transitions(lines));
        Assert.Matches(@"^compute-04 gen 2 done\s+━{24} 1/1  done 1$", LastBar(lines, "compute-04 gen 2"));
        Assert.DoesNotContain("compute-04 gen 1", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(CannedData.OlderId, result.Stdout, StringComparison.Ordinal);
        // The summary counts every record watched, the older fencing's too.
        Assert.Equal("done 2, failed 0, skipped 0, cancelled 0", lines[^1]);
    }

    [Fact]
    public async Task ABrokenLiveWatchSaysSoAboveTheBarsAndGoesOn()
    {
        var first = new FakeOperator();
        first.WatchScripts.Enqueue(new WatchScript(
            [Event(Kind.Snapshot, Canned(CannedData.RebuildingId)), SnapshotEnd()],
            BreakWith: new Status(StatusCode.Unavailable, "daemon shutting down")));
        var second = new FakeOperator();
        second.WatchScripts.Enqueue(new WatchScript(
            [Event(Kind.Snapshot, Canned(CannedData.RebuildingId)), SnapshotEnd(), Event(Kind.Updated, As(CannedData.RebuildingId, RecordState.Done, 90))]));
        await using var a = await TestDaemon.StartAsync(first);
        await using var b = await TestDaemon.StartAsync(second);

        var result = await CliRun.RunAsync(CliRun.Environment(terminal: true), "--server", a.Address, "--server", b.Address, "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        var lines = Terminal.Lines(result.Stdout);
        Assert.Contains($"evacctl: watch: stream from {a.Address} broke (Unavailable: daemon shutting down); reconnecting to {b.Address}", lines);
        Assert.Single(lines, l => l.Contains("cache-1  rebuilding", StringComparison.Ordinal));
        Assert.Matches(@"^compute-01 gen 1\s+━+\s+1/1  done 1$", LastBar(lines, "compute-01 gen 1"));
    }

    [Fact]
    public async Task ALiveWatchHasColoursUnlessNOCOLORIsSet()
    {
        var plain = new FakeOperator();
        plain.WatchScripts.Enqueue(AllGoWell());
        var colourful = new FakeOperator();
        colourful.WatchScripts.Enqueue(AllGoWell());
        await using var a = await TestDaemon.StartAsync(plain);
        await using var b = await TestDaemon.StartAsync(colourful);

        var noColour = await CliRun.AgainstAsync(a, CliRun.Environment(terminal: true), "watch");
        var colour = await CliRun.AgainstAsync(b, CliRun.Environment(terminal: true, colour: true), "watch");

        Assert.True(noColour.ExitCode == 0, noColour.ToString());
        Assert.True(colour.ExitCode == 0, colour.ToString());
        Assert.True(Terminal.HasEscapes(noColour.Stdout));
        Assert.DoesNotMatch(@"\u001b\[[0-9;]*m", noColour.Stdout);
        Assert.Matches(@"\u001b\[[0-9;]*32m", colour.Stdout);
        Assert.Equal(Transitions(Terminal.Lines(noColour.Stdout)), Transitions(Terminal.Lines(colour.Stdout)));
        Assert.Equal(Terminal.Lines(noColour.Stdout)[^1], Terminal.Lines(colour.Stdout)[^1]);
    }

    [Fact]
    public async Task WatchWithTermDumbPrintsPlainLinesEvenWithColoursAllowed()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);
        var environment = CliRun.Environment(terminal: true, variables: new Dictionary<string, string> { ["TERM"] = "dumb" }, colour: true);

        var result = await CliRun.AgainstAsync(daemon, environment, "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(Terminal.HasEscapes(result.Stdout));
        Assert.Equal(6, result.Lines.Length);
    }

    private static RecordEvent HostAs(string name, HostState state, RecordCounts counts, int at = 0, string? reason = null)
    {
        var host = CannedData.Hosts().Single(h => h.Name == name);
        var before = host.StateName;
        host.State = state;
        host.StateName = state.ToString().ToLowerInvariant();
        host.Counts = counts;
        if (reason is not null)
        {
            host.Reason = reason;
        }

        if (at > 0)
        {
            host.History.Add(CannedData.Step(at, before, host.StateName, host.Reason));
        }

        return new RecordEvent { Kind = Kind.Host, Host = host };
    }

    /// <summary>The lines printed above the bars: they start with a time.</summary>
    private static string[] Transitions(IEnumerable<string> screen) =>
        screen.Where(l => Regex.IsMatch(l, @"^\d\d:\d\d:\d\d  ")).ToArray();

    /// <summary>The last drawing of a fencing's bar.</summary>
    private static string LastBar(IEnumerable<string> screen, string fencing) =>
        screen.Last(l => l.StartsWith(fencing, StringComparison.Ordinal));
}
