using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

/// <summary>retry, cancel, hold, resume, confirm, release-host: table and JSON, refusals.</summary>
public class ActionCommandTests
{
    [Fact]
    public async Task RetrySaysTheRequestWasStoredAndShowsTheRecordAsItIsNow()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "retry", CannedData.FailedId, "--reason", "quota fixed");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"retry requested for {CannedData.FailedId} (now failed); the daemon owning it applies it", result.Lines[0]);
        Assert.StartsWith("ID ", result.Lines[1], StringComparison.Ordinal);
        Assert.Matches(@"^compute-01:1:bbbb0002\s+db-1\s+bbbb0002\s+compute-01\s+-\s+failed\s+3/3\s+-\s+attempts exhausted", result.Lines[2]);
        Assert.Equal(3, result.Lines.Length);
        var (action, request) = Assert.Single(fake.RecordRequests);
        Assert.Equal("retry", action);
        Assert.Equal(CannedData.FailedId, request.Id);
        Assert.Equal("quota fixed", request.Reason);
    }

    [Fact]
    public async Task RetryJsonIsTheRecordAsTheDaemonAnsweredIt()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "retry", CannedData.SkippedId, "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(CannedData.SkippedId, json.GetProperty("id").GetString());
        Assert.Equal("RECORD_STATE_SKIPPED", json.GetProperty("state").GetString());
        Assert.Equal("", result.Stderr);
    }

    [Theory]
    [InlineData("table")]
    [InlineData("json")]
    public async Task RetryOfARecordThatHasNotEndedIsRefusedWithTheDaemonsExplanation(string format)
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "-o", format, "retry", CannedData.RebuildingId);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal(
            $"evacctl: retry {CannedData.RebuildingId}: FailedPrecondition: record {CannedData.RebuildingId} is rebuilding: only failed, skipped or cancelled records can be retried",
            result.Stderr.Trim());
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("retry")]
    [InlineData("cancel")]
    public async Task ARequestOnAnUnknownRecordIsNotFound(string action)
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, action, "compute-01:1:00000000", "-o", "json");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal($"evacctl: {action} compute-01:1:00000000: NotFound: no record or instance 'compute-01:1:00000000'", result.Stderr.Trim());
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task CancelOfARecordInFlightSaysItEndsOnceNoAttemptIsInFlight()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "cancel", CannedData.RebuildingId, "--reason", "instance not needed");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            $"cancel requested for {CannedData.RebuildingId} (now rebuilding); the daemon owning it (daemon-b) applies it once no attempt is in flight",
            result.Lines[0]);
        Assert.Matches(@"^compute-01:1:cccc0003\s+cache-1\s+cccc0003\s+compute-01\s+compute-03\s+rebuilding\s+1/3\s+daemon-b\s+Nova accepted evacuate$", result.Lines[2]);
        Assert.Equal(("cancel", "instance not needed"), fake.RecordRequests.Select(r => (r.Action, r.Request.Reason)).Single());
    }

    [Fact]
    public async Task CancelInTableAndJson()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var table = await CliRun.AgainstAsync(daemon, "cancel", CannedData.AcceptedId);
        var json = await CliRun.AgainstAsync(daemon, "cancel", CannedData.AcceptedId, "--reason", "not needed", "-o", "json");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal($"cancel requested for {CannedData.AcceptedId} (now accepted); the daemon owning it (daemon-a) applies it", table.Lines[0]);
        Assert.Matches(@"^compute-04:2:eeee0005\s+web-2\s+eeee0005\s+compute-04\s+-\s+accepted\s+0/3\s+daemon-a\s+-$", table.Lines[2]);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal("accepted", json.Json().GetProperty("stateName").GetString());
        Assert.Equal(CannedData.AcceptedId, json.Json().GetProperty("id").GetString());
    }

    [Fact]
    public async Task CancelOfARecordThatEndedIsRefused()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "cancel", CannedData.DoneId);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal($"evacctl: cancel {CannedData.DoneId}: FailedPrecondition: record {CannedData.DoneId} already ended (done): nothing to cancel", result.Stderr.Trim());
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task HoldInTableAndJson()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var hold = await CliRun.AgainstAsync(daemon, "hold", "--reason", "rack maintenance");
        var holdJson = await CliRun.AgainstAsync(daemon, "-o", "json", "hold");

        Assert.True(hold.ExitCode == 0, hold.ToString());
        Assert.Matches(@"^Automatic evacuation:\s+held$", hold.Lines[0]);
        Assert.Matches(@"^Reason:\s+rack maintenance$", hold.Lines[1]);
        Assert.Matches(@"^Effect:\s+new fencings are held and no new evacuation attempt starts; .*`evacctl resume` ends the hold$", hold.Lines[2]);
        Assert.True(holdJson.ExitCode == 0, holdJson.ToString());
        Assert.True(holdJson.Json().GetProperty("held").GetBoolean());
        Assert.Equal("no reason given", holdJson.Json().GetProperty("reason").GetString());
        Assert.Equal(["rack maintenance", ""], fake.HoldReasons);
        Assert.True(fake.Held);
    }

    [Fact]
    public async Task ResumeNamesTheHeldHostsItLetGoOn()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        await CliRun.AgainstAsync(daemon, "hold");
        var resume = await CliRun.AgainstAsync(daemon, "resume");
        var hosts = await CliRun.AgainstAsync(daemon, "-o", "json", "hosts");
        var again = await CliRun.AgainstAsync(daemon, "resume", "-o", "json");

        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.Equal(2, resume.Lines.Length);
        Assert.Matches(@"^Automatic evacuation:\s+running$", resume.Lines[0]);
        Assert.Matches(@"^Result:\s+resumed; released held host\(s\): compute-04$", resume.Lines[1]);
        Assert.False(fake.Held);
        Assert.Equal("planning", hosts.Json().EnumerateArray().Single(h => h.GetProperty("name").GetString() == "compute-04").GetProperty("stateName").GetString());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.False(again.Json().GetProperty("held").GetBoolean());
        Assert.Equal("resumed", again.Json().GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ConfirmLetsAHeldHostGoOnInTable()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "confirm", "compute-04", "--reason", "rack really lost");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("compute-04 confirmed: its evacuation goes on (fencing compute-04:2 is now planning)", result.Lines[0]);
        Assert.StartsWith("HOST ", result.Lines[1], StringComparison.Ordinal);
        Assert.Matches(@"^compute-04\s+2\s+planning\s+operator\s+2025-03-01 12:00:45Z\s+1\s+0\s+0\s+0\s+0\s+confirmed by operator$", result.Lines[2]);
        var (action, request) = Assert.Single(fake.HostRequests);
        Assert.Equal(("confirm", "compute-04", "rack really lost"), (action, request.Host, request.Reason));
    }

    [Fact]
    public async Task ConfirmJsonIsTheHostAndAHostNotHeldIsRefused()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var json = await CliRun.AgainstAsync(daemon, "confirm", "compute-04", "-o", "json");
        var again = await CliRun.AgainstAsync(daemon, "confirm", "compute-04", "-o", "json");
        var unknown = await CliRun.AgainstAsync(daemon, "confirm", "compute-09");

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal("HOST_STATE_PLANNING", json.Json().GetProperty("state").GetString());
        Assert.Equal("compute-04:2", json.Json().GetProperty("evacuationId").GetString());
        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Equal("evacctl: confirm compute-04: FailedPrecondition: host compute-04 is not held (its fencing compute-04:2 is planning)", again.Stderr.Trim());
        Assert.Equal("", again.Stdout);
        Assert.Equal(ExitCodes.Failed, unknown.ExitCode);
        Assert.Equal("evacctl: confirm compute-09: NotFound: host 'compute-09' has never been fenced", unknown.Stderr.Trim());
    }

    [Fact]
    public async Task ReleaseHostPutsAFinishedHostBackInService()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var table = await CliRun.AgainstAsync(daemon, "release-host", "compute-03");
        var json = await CliRun.AgainstAsync(daemon, "release-host", "compute-03", "-o", "json");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal("compute-03 is back in service: forced_down cleared, nova-compute enabled (fencing compute-03:1 is released)", table.Lines[0]);
        Assert.Matches(@"^compute-03\s+1\s+released\s+fence-agent\s+", table.Lines[2]);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal("HOST_STATE_RELEASED", json.Json().GetProperty("state").GetString());
        Assert.False(json.Json().GetProperty("forcedDown").GetBoolean());
    }

    [Fact]
    public async Task ReleaseHostIsRefusedWhileEvacuatingAndUnknownHostsAreNotFound()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var busy = await CliRun.AgainstAsync(daemon, "release-host", "compute-01");
        var unknown = await CliRun.AgainstAsync(daemon, "-o", "json", "release-host", "compute-09");

        Assert.Equal(ExitCodes.Failed, busy.ExitCode);
        Assert.Equal(
            "evacctl: release host compute-01: FailedPrecondition: fencing compute-01:1 of compute-01 is still evacuating: release the host after it ended",
            busy.Stderr.Trim());
        Assert.Equal("", busy.Stdout);
        Assert.Equal(ExitCodes.Failed, unknown.ExitCode);
        Assert.Contains("NotFound: host 'compute-09' has never been fenced", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal("", unknown.Stdout);
    }

    [Theory]
    [InlineData("retry compute-01:1:x", "retry compute-01:1:x")]
    [InlineData("cancel compute-01:1:x", "cancel compute-01:1:x")]
    [InlineData("hold", "hold")]
    [InlineData("resume", "resume")]
    [InlineData("confirm compute-01", "confirm compute-01")]
    [InlineData("release-host compute-01", "release host compute-01")]
    [InlineData("hosts", "list hosts")]
    [InlineData("list", "list records")]
    [InlineData("daemons", "list daemons")]
    [InlineData("show x", "show x")]
    [InlineData("fence compute-01 --confirm-powered-off", "fence compute-01")]
    [InlineData("watch", "watch")]
    public async Task ADaemonAnsweringUnimplementedGivesItsMessageAndExit1(string command, string what)
    {
        await using var daemon = await TestDaemon.StartAsync(new BareOperator());

        var result = await CliRun.AgainstAsync(daemon, command.Split(' '));

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"evacctl: {what}: Unimplemented: ", line, StringComparison.Ordinal);
        Assert.True(line.Length > $"evacctl: {what}: Unimplemented: ".Length + 1, result.ToString());
        Assert.Equal("", result.Stdout);
    }
}
