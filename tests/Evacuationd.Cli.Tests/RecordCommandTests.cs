using System.Text.Json;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Tests;

public class RecordCommandTests
{
    [Fact]
    public async Task ListTableShowsEveryRecordInAlignedColumns()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "list");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Equal(7, lines.Length);
        Assert.Matches(@"^ID\s+INSTANCE\s+UUID\s+FROM\s+TO\s+STATE\s+ATTEMPT\s+OWNER\s+REASON$", lines[0]);
        var done = Assert.Single(lines, l => l.StartsWith(CannedData.DoneId, StringComparison.Ordinal));
        Assert.Matches(@"web-1\s+aaaa0001\s+compute-01\s+compute-02\s+done\s+1/3\s+-\s+Nova shows", done);
        var stateColumn = lines[0].IndexOf("STATE", StringComparison.Ordinal);
        Assert.Equal("done", done.Substring(stateColumn, 4));
        // Not a terminal: the reason is printed whole, and no line has trailing spaces.
        Assert.Contains(lines, l => l.EndsWith(CannedData.FailedReason, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Equal(l.TrimEnd(), l));
    }

    [Fact]
    public async Task ListTableOnATerminalTruncatesReasons()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "list", "--state", "failed");

        Assert.True(result.ExitCode == 0, result.ToString());
        var row = Assert.Single(result.Lines, l => l.StartsWith(CannedData.FailedId, StringComparison.Ordinal));
        Assert.DoesNotContain(CannedData.FailedReason, row, StringComparison.Ordinal);
        Assert.EndsWith(CannedData.FailedReason[..57] + "...", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListJsonIsAnArrayOfRecordsWithDefaultValues()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "-o", "json", "list");

        Assert.True(result.ExitCode == 0, result.ToString());
        var items = result.Json().EnumerateArray().ToList();
        Assert.Equal(6, items.Count);
        var skipped = items.Single(i => i.GetProperty("id").GetString() == CannedData.SkippedId);
        Assert.Equal(0, skipped.GetProperty("attempt").GetInt32());
        Assert.Equal("RECORD_STATE_SKIPPED", skipped.GetProperty("state").GetString());
        Assert.Equal("skipped", skipped.GetProperty("stateName").GetString());
        Assert.Equal("dddd0004-0000-4000-8000-000000000004", skipped.GetProperty("instanceUuid").GetString());
        Assert.Equal("", skipped.GetProperty("owner").GetString());
    }

    [Fact]
    public async Task ListPassesHostAndStateFiltersToTheDaemon()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "list", "--host", "compute-01", "--state", "failed");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(fake.ListRequests);
        Assert.Equal("compute-01", request.Host);
        Assert.Equal(RecordState.Failed, request.State);
        Assert.Equal(2, result.Lines.Length);
        Assert.StartsWith(CannedData.FailedId, result.Lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListJsonFollowsPageTokensToTheLastPage()
    {
        var fake = new FakeOperator { PageSize = 2 };
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "list", "--host", "compute-01", "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["", "2"], fake.ListRequests.Select(r => r.PageToken));
        Assert.All(fake.ListRequests, r => Assert.Equal("compute-01", r.Host));
        var ids = result.Json().EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
        Assert.Equal([CannedData.DoneId, CannedData.FailedId, CannedData.RebuildingId, CannedData.SkippedId], ids);
    }

    [Fact]
    public async Task ListWithAnUnknownStateIsAUsageErrorListingTheValidStates()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "list", "--state", "running");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("running", result.Stderr, StringComparison.Ordinal);
        foreach (var state in new[] { "accepted", "evacuating", "rebuilding", "retrying", "done", "failed", "skipped", "cancelled" })
        {
            Assert.Contains($"'{state}'", result.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(0, fake.Calls);
    }

    [Fact]
    public async Task ShowByIdPrintsFieldsAndHistoryTable()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "show", CannedData.DoneId);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Matches(@"^Id:\s+compute-01:1:aaaa0001$", lines[0]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Instance:\s+web-1 \(aaaa0001-0000-4000-8000-000000000001\)$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^State:\s+done$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Destination:\s+compute-02$"));
        var history = Array.IndexOf(lines, "History:");
        Assert.True(history > 0, result.ToString());
        Assert.Matches(@"^TIME\s+TRANSITION\s+DAEMON\s+ATTEMPT\s+REQUEST-ID\s+REASON$", lines[history + 1]);
        Assert.Matches(@"^2025-03-01 12:00:30Z\s+rebuilding -> done\s+daemon-b\s+1\s+req-1111\s+Nova shows the instance ACTIVE on compute-02$", lines[history + 5]);
        Assert.Matches(@"^2025-03-01 12:00:00Z\s+- -> accepted\s+daemon-a\s+0\s+-\s+host compute-01 fenced", lines[history + 2]);
    }

    [Fact]
    public async Task ShowByInstanceUuidReturnsItsNewestRecord()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "show", CannedData.Web2Uuid, "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(CannedData.AcceptedId, json.GetProperty("id").GetString());
        Assert.Equal("accepted", json.GetProperty("stateName").GetString());
    }

    [Fact]
    public async Task ShowJsonIsTheRecordObjectWithItsHistory()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "-o", "json", "show", CannedData.DoneId);

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        Assert.Equal("compute-02", json.GetProperty("destinationHost").GetString());
        Assert.Equal("1", json.GetProperty("fenceGeneration").GetString());
        var history = json.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(4, history.Count);
        Assert.Equal(0, history[0].GetProperty("attempt").GetInt32());
        Assert.Equal("rebuilding", history[3].GetProperty("from").GetString());
        Assert.Equal("2025-03-01T12:00:30Z", history[3].GetProperty("at").GetString());
    }

    [Fact]
    public async Task ShowOfAnUnknownRecordPrintsTheDaemonsMessageAndExits1()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "show", "nope");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Equal("evacctl: show nope: NotFound: no record or instance 'nope'", result.Stderr.Trim());
    }

    [Fact]
    public async Task ShowPrintsEveryFieldOfTheRecord()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "show", CannedData.FailedId);

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] labels =
        [
            "Id", "Instance", "Evacuation", "State", "Source host", "Destination", "Requested destination", "Attempt",
            "Attempt started", "Attempt request id", "Baseline migration", "Not before", "Reason", "Error", "Owner",
            "Cancel requested", "Priority", "Created", "Updated", "Revision",
        ];
        foreach (var label in labels)
        {
            Assert.Contains(result.Lines, l => l.StartsWith(label + ":", StringComparison.Ordinal));
        }

        Assert.Contains(result.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Evacuation:\s+compute-01:1 \(generation 1\)$"));
        Assert.Contains(result.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Error:\s+409 Conflict$"));
        Assert.Contains(result.Lines, l => l.StartsWith("Reason:", StringComparison.Ordinal) && l.EndsWith(CannedData.FailedReason, StringComparison.Ordinal));
    }
}
