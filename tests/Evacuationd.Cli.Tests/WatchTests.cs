using System.Text.Json;
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
    public async Task WatchOnATerminalPrintsALinePerChangeAndASummary()
    {
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(AllGoWell());
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "watch");

        Assert.True(result.ExitCode == 0, result.ToString());
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

        var terminal = CliRun.Environment(terminal: true);
        var result = await CliRun.AgainstAsync(daemon, terminal, "watch");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("done 1, failed 1, skipped 0, cancelled 0", result.Lines[^1]);
        Assert.Contains(result.Lines, l => l.Contains("db-1  failed", StringComparison.Ordinal) && l.EndsWith(CannedData.FailedReason, StringComparison.Ordinal));
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

        var result = await CliRun.RunAsync(CliRun.Environment(terminal: true), "--server", a.Address, "--server", b.Address, "watch");

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
}
