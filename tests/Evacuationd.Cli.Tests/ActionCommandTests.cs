using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

public class ActionCommandTests
{
    [Fact]
    public async Task RetryPrintsTheRecordRow()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "retry", CannedData.FailedId, "--reason", "quota fixed");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.Lines.Length);
        Assert.StartsWith("ID ", result.Lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^compute-01:1:bbbb0002\s+db-1\s+bbbb0002\s+compute-01\s+-\s+retrying\s+3/3\s+-\s+operator retry: quota fixed$", result.Lines[1]);
    }

    [Fact]
    public async Task RetryJsonAndRefusal()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var retried = await CliRun.AgainstAsync(daemon, "retry", CannedData.FailedId, "-o", "json");
        var again = await CliRun.AgainstAsync(daemon, "retry", CannedData.FailedId);

        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.Equal("RECORD_STATE_RETRYING", retried.Json().GetProperty("state").GetString());
        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Equal($"evacctl: retry {CannedData.FailedId}: FailedPrecondition: record {CannedData.FailedId} is retrying", again.Stderr.Trim());
    }

    [Fact]
    public async Task CancelInTableAndJson()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var json = await CliRun.AgainstAsync(daemon, "cancel", CannedData.AcceptedId, "--reason", "not needed", "-o", "json");
        var refused = await CliRun.AgainstAsync(daemon, "cancel", CannedData.AcceptedId);

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal("cancelled", json.Json().GetProperty("stateName").GetString());
        Assert.Equal("cancelled by operator: not needed", json.Json().GetProperty("reason").GetString());
        Assert.Equal(ExitCodes.Failed, refused.ExitCode);
        Assert.Contains("FailedPrecondition", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelTablePrintsTheCancelledRecord()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "cancel", CannedData.AcceptedId);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^compute-04:2:eeee0005\s+web-2\s+eeee0005\s+compute-04\s+-\s+cancelled\s+0/3\s+daemon-a\s+cancelled by operator$", result.Lines[1]);
    }

    [Fact]
    public async Task HoldAndResumeInTableAndJson()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var hold = await CliRun.AgainstAsync(daemon, "hold", "--reason", "rack maintenance");
        var holdJson = await CliRun.AgainstAsync(daemon, "-o", "json", "hold");
        var resume = await CliRun.AgainstAsync(daemon, "resume");
        var resumeJson = await CliRun.AgainstAsync(daemon, "resume", "-o", "json");

        Assert.True(hold.ExitCode == 0, hold.ToString());
        Assert.Matches(@"^Automatic evacuation:\s+held$", hold.Lines[0]);
        Assert.Matches(@"^Reason:\s+rack maintenance$", hold.Lines[1]);
        Assert.True(holdJson.Json().GetProperty("held").GetBoolean());
        Assert.Equal("", holdJson.Json().GetProperty("reason").GetString());
        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.Matches(@"^Automatic evacuation:\s+running$", resume.Lines[0]);
        Assert.False(resumeJson.Json().GetProperty("held").GetBoolean());
    }

    [Fact]
    public async Task ConfirmReleasesAHeldHost()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var table = await CliRun.AgainstAsync(daemon, "confirm", "compute-04");
        var again = await CliRun.AgainstAsync(daemon, "confirm", "compute-04", "-o", "json");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.StartsWith("HOST ", table.Lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^compute-04\s+2\s+evacuating\s+operator\s+", table.Lines[1]);
        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Equal("evacctl: confirm compute-04: FailedPrecondition: host compute-04 is evacuating", again.Stderr.Trim());
    }

    [Fact]
    public async Task ReleaseHostIsRefusedWhileEvacuatingAndUnknownHostsAreNotFound()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var busy = await CliRun.AgainstAsync(daemon, "release-host", "compute-01");
        var unknown = await CliRun.AgainstAsync(daemon, "-o", "json", "release-host", "compute-09");

        Assert.Equal(ExitCodes.Failed, busy.ExitCode);
        Assert.Equal("evacctl: release host compute-01: FailedPrecondition: host compute-01 is evacuating", busy.Stderr.Trim());
        Assert.Equal(ExitCodes.Failed, unknown.ExitCode);
        Assert.Contains("NotFound: no fencing of host 'compute-09'", unknown.Stderr, StringComparison.Ordinal);
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
